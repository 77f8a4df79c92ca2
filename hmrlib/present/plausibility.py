"""How human-like are predicted poses? Two statistics for the paper's claim that the
discriminator prior makes poses more realistic.

- range violations: the share of a pose's 23 joints rotated further than 99.5% of the training
  set's rotations of that joint (by angle), by more than a tolerance of 5 degrees;
- discriminator realism: the mean probability, over its 24 outputs, that a trained pose
  discriminator gives the pose of being real (no input noise).
"""

import numpy as np
import torch

from hmrlib.models import PoseDiscriminator
from hmrlib.train.checkpoint import latest, load
from hmrlib.train.config import TrainConfig


def joint_angle_limits(poses: np.ndarray, quantile: float = 0.995) -> np.ndarray:
    """(23,) rotation angle (radians) below which ``quantile`` of each joint's training rotations lie."""
    angles = np.linalg.norm(poses.reshape(-1, 24, 3)[:, 1:], axis=2)
    return np.quantile(angles, quantile, axis=0)


# Without a tolerance, a joint that never rotates in the training data (SynthH36M's feet and
# hands: limit 0) counted as beyond its range in every predicted frame, since a regression never
# outputs exactly 0: 4 of 23 joints, a 17.4 % floor that said nothing about the pose.
RANGE_TOLERANCE = np.radians(5.0)


def range_violations(poses: np.ndarray, limits: np.ndarray, tolerance: float = RANGE_TOLERANCE) -> np.ndarray:
    """(N,) share of joints rotated beyond their limit by more than ``tolerance`` (radians)."""
    angles = np.linalg.norm(np.asarray(poses).reshape(-1, 24, 3)[:, 1:], axis=2)
    return (angles > limits + tolerance).mean(1)


def load_discriminator(run_dir) -> PoseDiscriminator:
    """The discriminator of a run's latest checkpoint."""
    path = latest(run_dir / "checkpoints")
    state = load(path)
    noise_levels = TrainConfig.from_dict(state["config"], source=path).model.disc_noise
    discriminator = PoseDiscriminator(noise_levels=noise_levels)
    discriminator.load_state_dict(state["discriminator"])
    return discriminator.eval()


@torch.no_grad()
def discriminator_realism(poses, discriminator: PoseDiscriminator) -> np.ndarray:
    """(N,) mean sigmoid of the 24 discriminators."""
    logits = discriminator(torch.as_tensor(np.asarray(poses), dtype=torch.float32), noise=False)
    return logits.sigmoid().mean(1).numpy()
