"""A few hand-set poses for pictures and tests: (72,) axis-angle, SMPL joint order."""

import numpy as np

from hmrlib.skeleton import JOINT_NAMES


def make_pose(**rotations) -> np.ndarray:
    """Full pose (72,) from joint-name keywords, each an axis-angle triple in radians."""
    pose = np.zeros((len(JOINT_NAMES), 3))
    for name, rotvec in rotations.items():
        pose[JOINT_NAMES.index(name)] = rotvec
    return pose.reshape(-1)


# A mid-stride wave: left thigh forward, right knee bent back, right arm down, left forearm
# raised at the elbow, head turned — each joint rotates about SMPL's axes (x right-to-left,
# y up, z forward), so the same vector poses real SMPL the same way.
STRIDE_AND_WAVE = make_pose(
    left_hip=(-0.55, 0.0, 0.05),
    left_knee=(0.35, 0.0, 0.0),
    right_hip=(0.25, 0.0, 0.0),
    right_knee=(0.75, 0.0, 0.0),
    spine2=(0.08, 0.15, 0.0),
    neck=(0.0, 0.3, 0.0),
    left_shoulder=(0.0, 0.0, 0.25),
    left_elbow=(0.0, 0.0, 1.5),
    right_shoulder=(0.0, 0.0, 1.2),
    right_elbow=(0.0, -0.3, 0.0),
)
