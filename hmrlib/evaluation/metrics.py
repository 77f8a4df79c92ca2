"""Evaluation metrics, as pure functions on batches.

Letters: B batch, V vertices, J joints. Inputs in metres, camera frame, both meshes placed with
the ground-truth root_loc (as the course metric does).
- course_mse: the course's score, mean over B x V x 3 of the squared vertex error, in m^2;
- pve: mean per-vertex Euclidean error (mm);
- mpjpe: mean per-joint position error after aligning the pelvis (mm);
- pa_mpjpe: the same after a Procrustes (similarity) alignment per sample (mm).
The per-sample values are returned so callers can average per action.

Which joints: hmrlib's MPJPE and PA-MPJPE use all 24 SMPL joints that the body model's own joint
regressor gives (the stand-in's or SMPL's), the pelvis included. After aligning the pelvis its
term is zero, so MPJPE is 23/24 of the mean error of the other 23 joints. This is not Human3.6M's
protocol: published numbers regress 14 or 17 Human3.6M joints from the mesh with
``J_regressor_h36m.npy`` (:mod:`hmrlib.evaluation.h36m_protocol`, reported by ``evaluate
--h36m-regressor``), so they can not be compared with these directly.
"""

import torch

from hmrlib.geometry import rotvec_to_matrix
from hmrlib.skeleton import JOINT_GROUPS


def course_mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, V, 3) x 2 -> (B,) mean squared error per sample, m^2."""
    return (predicted - target).square().mean(dim=(1, 2))


def pve(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, V, 3) x 2 -> (B,) mean vertex distance, mm."""
    return 1000 * (predicted - target).norm(dim=-1).mean(1)


def pelvis_aligned_distances(predicted_joints: torch.Tensor, target_joints: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) x 2 -> (B, J) joint distances in metres, after moving both pelvises (joint 0) to
    the origin: MPJPE's terms, and the training's joint loss."""
    predicted = predicted_joints - predicted_joints[:, :1]
    target = target_joints - target_joints[:, :1]
    return (predicted - target).norm(dim=-1)


def mpjpe(predicted_joints: torch.Tensor, target_joints: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) x 2 -> (B,) mm, after moving both pelvises (joint 0) to the origin."""
    return 1000 * pelvis_aligned_distances(predicted_joints, target_joints).mean(1)


def procrustes_align(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) source aligned to target by the best scale, rotation and translation (Umeyama)."""
    mu_s, mu_t = source.mean(1, keepdim=True), target.mean(1, keepdim=True)
    s, t = source - mu_s, target - mu_t
    covariance = s.transpose(1, 2) @ t  # (B, 3, 3)
    u, sigma, vt = torch.linalg.svd(covariance)
    sign = torch.sign(torch.linalg.det(vt.transpose(1, 2) @ u.transpose(1, 2)))
    d = torch.ones_like(sigma)
    d[:, -1] = sign
    rotation = vt.transpose(1, 2) @ torch.diag_embed(d) @ u.transpose(1, 2)  # (B, 3, 3)
    scale = (sigma * d).sum(1) / s.square().sum(dim=(1, 2))
    return scale[:, None, None] * s @ rotation.transpose(1, 2) + mu_t


def pa_joint_errors(predicted_joints: torch.Tensor, target_joints: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) x 2 -> (B, J) per-joint errors in mm after one Procrustes alignment per sample."""
    aligned = procrustes_align(predicted_joints.double(), target_joints.double()).to(target_joints.dtype)
    return 1000 * (aligned - target_joints).norm(dim=-1)


def pa_mpjpe(predicted_joints: torch.Tensor, target_joints: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) x 2 -> (B,) mm after Procrustes alignment."""
    return pa_joint_errors(predicted_joints, target_joints).mean(1)


def orientation_error_deg(predicted_rotvec: torch.Tensor, target_rotvec: torch.Tensor) -> torch.Tensor:
    """(B, 3) x 2 axis-angle -> (B,) the geodesic angle between the two rotations, degrees."""
    relative = rotvec_to_matrix(predicted_rotvec).transpose(1, 2) @ rotvec_to_matrix(target_rotvec)
    cosine = ((relative.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosine))


def pa_errors_by_group(predicted_joints: torch.Tensor, target_joints: torch.Tensor) -> dict:
    """(B, 24, 3) x 2 -> {'pa_<group>_mm': (B,)}: the per-joint errors after one Procrustes
    alignment of all 24 joints, averaged over each group of :data:`hmrlib.skeleton.JOINT_GROUPS`."""
    errors = pa_joint_errors(predicted_joints, target_joints)  # (B, 24)
    return {f"pa_{name}_mm": errors[:, list(joints)].mean(1) for name, joints in JOINT_GROUPS.items()}


def all_metrics(predicted_vertices, target_vertices, predicted_joints, target_joints) -> dict:
    """Per-sample values (B,) of every metric, by name."""
    return {
        "mse_m2": course_mse(predicted_vertices, target_vertices),
        "pve_mm": pve(predicted_vertices, target_vertices),
        "mpjpe_mm": mpjpe(predicted_joints, target_joints),
        "pa_mpjpe_mm": pa_mpjpe(predicted_joints, target_joints),
    }
