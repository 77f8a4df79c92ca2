"""How human-like are predicted poses? Two statistics for the paper's claim that the
discriminator prior makes poses more realistic.

- range violations: the share of a pose's 23 joints rotated further than 99.5% of the training
  set's rotations of that joint (by angle);
- discriminator realism: the mean probability, over its 24 outputs, that a trained pose
  discriminator gives the pose of being real (no input noise).
"""

import numpy as np
import torch

from hmrlib.models import PoseDiscriminator
from hmrlib.train.checkpoint import latest, load


def joint_angle_limits(poses: np.ndarray, quantile: float = 0.995) -> np.ndarray:
    """(23,) rotation angle (radians) below which ``quantile`` of each joint's training rotations lie."""
    angles = np.linalg.norm(poses.reshape(-1, 24, 3)[:, 1:], axis=2)
    return np.quantile(angles, quantile, axis=0)


def range_violations(poses: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """(N,) share of joints beyond their limit."""
    angles = np.linalg.norm(np.asarray(poses).reshape(-1, 24, 3)[:, 1:], axis=2)
    return (angles > limits).mean(1)


def load_discriminator(run_dir) -> PoseDiscriminator:
    """The discriminator of a run's latest checkpoint."""
    state = load(latest(run_dir / "checkpoints"))
    discriminator = PoseDiscriminator()
    discriminator.load_state_dict(state["discriminator"])
    return discriminator.eval()


@torch.no_grad()
def discriminator_realism(poses, discriminator: PoseDiscriminator) -> np.ndarray:
    """(N,) mean sigmoid of the 24 discriminators."""
    logits = discriminator(torch.as_tensor(np.asarray(poses), dtype=torch.float32), noise=False)
    return logits.sigmoid().mean(1).numpy()
