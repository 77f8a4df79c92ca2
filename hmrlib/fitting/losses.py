"""The fit's terms as pure functions. Letters: B people, K keypoints (22, see correspondence).

Distances are in units of the person's box side, so one setting serves a 200-px crop and a
4000-px photo alike.
"""

import torch
import torch.nn.functional as F

from hmrlib.fitting.correspondence import model_points

# SPIN's angle prior: elbows bend about their y axis, knees about x, one way only (signs: the
# direction that would bend them backwards is positive after the sign)
BEND_INDICES = (18 * 3 + 1, 19 * 3 + 1, 4 * 3, 5 * 3)  # left/right elbow y, left/right knee x, in the (B, 72) pose
BEND_SIGNS = (1.0, -1.0, -1.0, -1.0)


def project(points: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """Camera-frame points (B, K, 3) and (B, 4) fx, fy, cx, cy -> pixels (B, K, 2)."""
    z = points[..., 2:].clamp(min=1e-3)  # a point behind the camera gives a large, finite residual
    return points[..., :2] / z * intrinsics[:, None, :2] + intrinsics[:, None, 2:]


def gmof(residual: torch.Tensor, scale: float) -> torch.Tensor:
    """Geman-McClure of residual vectors (..., 2): ~ squared length when short, ~ scale² when long,
    so a landmark far off (a wrong detection) cannot drag the body."""
    squared = residual.pow(2).sum(-1)
    return scale**2 * squared / (scale**2 + squared)


def keypoint_residuals(joints, surface, transl, targets, intrinsics, box_side) -> torch.Tensor:
    """Body points (joints (B, 24, 3), surface (B, 9, 3)) at ``transl`` (B, 3) projected, minus the
    targets (B, K, 2), in box sides: (B, K, 2)."""
    pixels = project(model_points(joints, surface) + transl[:, None], intrinsics)
    return (pixels - targets) / box_side[:, None, None]


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, K) values, (B, K) weights -> (B,); 0 for a person with no weight."""
    return (values * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def reprojection_error(residuals: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, K, 2), (B, K) -> (B,) the confidence-weighted mean distance, in box sides."""
    return weighted_mean(residuals.norm(dim=-1), weights)


def bend_prior(pose: torch.Tensor) -> torch.Tensor:
    """(B, 72) -> (B,): elbows and knees bent backwards cost exp(angle)²."""
    angles = pose[:, list(BEND_INDICES)] * pose.new_tensor(BEND_SIGNS)
    return torch.exp(angles).pow(2).sum(1)


def realism_prior(discriminator, pose: torch.Tensor) -> torch.Tensor:
    """(B, 72) -> (B,): -log D(pose) averaged over the 23 per-joint and the full-pose
    discriminators — low where the paper's learned prior finds the pose real."""
    return F.softplus(-discriminator(pose, noise=False)).mean(1)
