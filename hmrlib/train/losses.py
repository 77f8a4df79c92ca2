"""Training losses, each a small function returning named terms, combined by named weights.

Paper weights: vertex L1 1.0, vertex L2 1.0, SuperGAT attention 0.0005, per-joint discriminators
0.01, full-pose discriminator 0.01. Two terms are not the paper's and are off (weight 0) in its
profile: ``rotations`` (SPIN's and HMR's direct supervision of the 24 rotation matrices),
``joints`` (the mean distance between pelvis-relative 3D joints, an MPJPE in metres), and the 2D
terms ``heatmaps`` (the auxiliary joint heatmaps against the labels' projected joints) and
``reprojection`` (the predicted joints projected with the frame's camera against the labels'). A term
whose weight is 0 is not computed, so it neither costs time nor appears in the logs.

Adversarial terms are means over discriminators, in both directions: the generator's per-joint
term is the mean of the 23 joints' BCE (the full-pose term is one BCE), the discriminators' loss
the mean of all 24. PyTorch HMR sums over its discriminators in both losses instead (LSGAN,
``batch_encoder_disc_l2_loss`` / ``batch_adv_disc_l2_loss``); with the paper's weight of 0.01 a sum
would make the per-joint prior 23 times stronger than the full-pose one, and for the
discriminators, trained by Adam, the reduction only rescales the logged value.
"""

from dataclasses import asdict, dataclass

import torch
from torch.nn import functional as F

from hmrlib.evaluation.metrics import pelvis_aligned_distances
from hmrlib.geometry import cell_centres, rotvec_to_matrix
from hmrlib.skeleton import NUM_JOINTS


@dataclass
class LossWeights:
    vertex_l1: float = 1.0
    vertex_l2: float = 1.0
    attention: float = 0.0005
    disc_joints: float = 0.01
    disc_full: float = 0.01
    rotations: float = 0.0
    joints: float = 0.0
    heatmaps: float = 0.0  # needs model.joint_heatmaps and each frame's camera (hmrlib's, issue 17)
    reprojection: float = 0.0  # needs each frame's camera (hmrlib's, issue 17)
    heading: float = 0.0  # cross-entropy of model.heading_bins' classifier (hmrlib's, issue 17)

    @property
    def uses_2d(self) -> bool:
        """Whether a term needs the labels' joints in the image (the camera and the crop's box)."""
        return bool(self.heatmaps or self.reprojection)


def rotation_loss(predicted_pose: torch.Tensor, target_pose: torch.Tensor) -> torch.Tensor:
    """(B, 72) axis-angle each: mean squared difference of the 24 rotation matrices. Matrices,
    not axis-angle: the same rotation has many axis-angle values (SPIN's choice too)."""
    predicted = rotvec_to_matrix(predicted_pose.view(-1, NUM_JOINTS, 3))
    target = rotvec_to_matrix(target_pose.view(-1, NUM_JOINTS, 3))
    return (predicted - target).square().mean()


def joint_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) joints in metres: the evaluation's MPJPE, in metres and over the batch."""
    return pelvis_aligned_distances(predicted, target).mean()


def inside_crop(points_2d: torch.Tensor) -> torch.Tensor:
    """(B, J) whether each normalised 2D point lies inside the crop."""
    return (points_2d.abs() <= 1).all(-1)


def reprojection_loss(predicted_2d: torch.Tensor, target_2d: torch.Tensor) -> torch.Tensor:
    """(B, J, 2) each, in the crop's normalised coordinates: mean L1 distance over the joints
    whose label lies inside the crop (1.0 = half the crop's side)."""
    inside = inside_crop(target_2d)
    distance = (predicted_2d - target_2d).abs().sum(-1)
    return (distance * inside).sum() / inside.sum().clamp(min=1)


def heatmap_loss(logits: torch.Tensor, target_2d: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """logits (B, J, h, w), target_2d (B, J, 2) normalised: per joint, the KL divergence from a
    Gaussian of ``sigma`` heatmap pixels around the label to the softmax over the map (0 when the
    map is that Gaussian); mean over the joints inside the crop. A distribution, not SimpleBaseline's
    MSE to a peak: its scale does not depend on the map's size, so one weight serves every size."""
    batch, joints, height, width = logits.shape
    xs, ys = cell_centres(width, logits.device), cell_centres(height, logits.device)
    dx = (xs - target_2d[..., :1]) * (width / 2)  # (B, J, w) in heatmap pixels
    dy = (ys - target_2d[..., 1:]) * (height / 2)  # (B, J, h)
    log_target = -(dy[..., :, None].square() + dx[..., None, :].square()).flatten(2) / (2 * sigma**2)
    log_target = log_target - log_target.logsumexp(-1, keepdim=True)
    log_predicted = logits.float().flatten(2).log_softmax(-1)
    divergence = (log_target.exp() * (log_target - log_predicted)).sum(-1)  # (B, J)
    inside = inside_crop(target_2d)
    return (divergence * inside).sum() / inside.sum().clamp(min=1)


def vertex_losses(predicted: torch.Tensor, target: torch.Tensor) -> dict:
    """Both (B, V, 3) in metres. vertex_l2 is the course metric: mean over B x V x 3 of the
    squared error (m^2)."""
    difference = predicted - target
    return {"vertex_l1": difference.abs().mean(), "vertex_l2": difference.square().mean()}


def generator_adversarial_losses(fake_logits: torch.Tensor) -> dict:
    """fake_logits (B, 24) from the discriminators on predicted poses; the generator wants 'real'."""
    ones = torch.ones_like(fake_logits)
    return {
        "disc_joints": F.binary_cross_entropy_with_logits(fake_logits[:, :-1], ones[:, :-1]),
        "disc_full": F.binary_cross_entropy_with_logits(fake_logits[:, -1], ones[:, -1]),
    }


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE of all 24 discriminators: real poses labelled 1, predicted poses 0, averaged over the
    discriminators and the batch."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits), reduction="none")
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction="none")
    return (real + fake).mean()


def weighted_total(terms: dict, weights: LossWeights) -> torch.Tensor:
    """Sum of weight x term over the terms present (a term missing from ``weights`` is an error)."""
    table = asdict(weights)
    unknown = set(terms) - set(table)
    if unknown:
        raise KeyError(f"no weight for loss terms {sorted(unknown)}")
    return sum(table[name] * value for name, value in terms.items())
