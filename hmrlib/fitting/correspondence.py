"""The one table between the SMPL body and MediaPipe BlazePose's 33 landmarks.

Limb joints are SMPL joints; the face and feet are points on SMPL's surface (the body model's
named landmark vertices). The hips are the one place where the two disagree: BlazePose marks
the hip at the side of the pelvis, SMPL's hip joints sit inside it, closer together, so each hip
alone would pull the thighs apart. They enter as their midpoint only (the pelvis centre, which
both place alike), with the lower of the two confidences (SPIN leaves the hips out for the same
reason; the midpoint keeps the torso's length, which the camera's depth needs).

K = 10 limb joints (the hips apart) + 9 surface points + the hip midpoint = 20 points, in :data:`POINT_NAMES` order.
"""

import torch

# (SMPL joint, BlazePose landmark), each the person's own left or right
LIMB_JOINTS = (
    (16, 11),  # left shoulder
    (17, 12),  # right shoulder
    (18, 13),  # left elbow
    (19, 14),  # right elbow
    (20, 15),  # left wrist
    (21, 16),  # right wrist
    (1, 23),  # left hip
    (2, 24),  # right hip
    (4, 25),  # left knee
    (5, 26),  # right knee
    (7, 27),  # left ankle
    (8, 28),  # right ankle
)
# (the body model's landmark vertex name, BlazePose landmark)
SURFACE_POINTS = (
    ("nose", 0),
    ("leye", 2),
    ("reye", 5),
    ("lear", 7),
    ("rear", 8),
    ("LHeel", 29),
    ("RHeel", 30),
    ("LBigToe", 31),
    ("RBigToe", 32),
)
HIP_JOINTS, HIP_LANDMARKS = (1, 2), (23, 24)
FITTED_JOINTS = tuple(smpl for smpl, _ in LIMB_JOINTS if smpl not in HIP_JOINTS)  # the 10 limb joints
FITTED_LANDMARKS = tuple(blaze for smpl, blaze in LIMB_JOINTS if smpl not in HIP_JOINTS)
POINT_NAMES = (
    "left shoulder",
    "right shoulder",
    "left elbow",
    "right elbow",
    "left wrist",
    "right wrist",
    "left knee",
    "right knee",
    "left ankle",
    "right ankle",
    *(name for name, _ in SURFACE_POINTS),
    "hip midpoint",
)
# the torso and head: enough to place the camera and turn the body (stage 1)
TORSO_NAMES = ("left shoulder", "right shoulder", "nose", "leye", "reye", "lear", "rear", "hip midpoint")
TORSO_POINTS = tuple(POINT_NAMES.index(name) for name in TORSO_NAMES)


def model_points(joints: torch.Tensor, surface: torch.Tensor) -> torch.Tensor:
    """SMPL joints (B, 24, 3) and the :data:`SURFACE_POINTS` vertices (B, 9, 3) -> (B, K, 3)."""
    hips = joints[:, list(HIP_JOINTS)].mean(1, keepdim=True)
    return torch.cat([joints[:, list(FITTED_JOINTS)], surface, hips], dim=1)


def target_points(keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BlazePose landmarks (B, 33, 3): x, y in pixels and a confidence -> the K targets (B, K, 2)
    and their confidences (B, K), in :data:`POINT_NAMES` order."""
    picked = keypoints[:, [*FITTED_LANDMARKS, *(blaze for _, blaze in SURFACE_POINTS)]]
    hips = keypoints[:, list(HIP_LANDMARKS)]
    hip_point = torch.cat([hips[..., :2].mean(1), hips[..., 2].min(1).values[:, None]], dim=1)
    points = torch.cat([picked, hip_point[:, None]], dim=1)
    return points[..., :2], points[..., 2]
