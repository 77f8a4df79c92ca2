"""The 24-joint SMPL skeleton: names, kinematic tree, the pose graph and left/right mirroring.

Frame (SMPL's): metres, y up, the body faces +z, the character's left is +x.
Pose vectors are axis-angle, joint-major: ``pose[..., 3*j:3*j+3]`` rotates joint ``j``.
"""

import functools

import torch

JOINT_NAMES = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = len(JOINT_NAMES)  # 24
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

# where the error sits: issue 17's breakdown of PA-MPJPE by body part
JOINT_GROUPS = {
    "torso": (0, 3, 6, 9, 12, 13, 14, 15),  # pelvis, spine, neck, collars, head
    "legs": (1, 2, 4, 5, 7, 8, 10, 11),  # hips, knees, ankles, feet
    "arms": (16, 17, 18, 19, 20, 21, 22, 23),  # shoulders, elbows, wrists, hands
}

BONES = tuple((parent, child) for child, parent in enumerate(PARENTS) if parent >= 0)
# Links between mirrored limbs let information flow from a visible limb to its occluded twin.
MIRROR_LINKS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23))


def _mirror_permutation() -> tuple[int, ...]:
    index = {name: j for j, name in enumerate(JOINT_NAMES)}
    swap = {"left_": "right_", "right_": "left_"}
    perm = []
    for name in JOINT_NAMES:
        side = next((s for s in swap if name.startswith(s)), None)
        perm.append(index[swap[side] + name[len(side) :]] if side else index[name])
    return tuple(perm)


# MIRROR_PERMUTATION[j] is the joint that j becomes in the mirror image (left_hip <-> right_hip).
MIRROR_PERMUTATION = _mirror_permutation()


def pose_graph_edges(mirror_links: bool = True) -> torch.Tensor:
    """Undirected edges of the pose graph as a PyG ``edge_index`` of shape (2, 2E).

    Bones of the kinematic tree, plus links between mirrored limbs when asked.
    """
    pairs = list(BONES) + (list(MIRROR_LINKS) if mirror_links else [])
    edges = torch.tensor(pairs, dtype=torch.long).T  # (2, E)
    return torch.cat([edges, edges.flip(0)], dim=1)  # both directions


def mirror_pose(pose: torch.Tensor) -> torch.Tensor:
    """Mirror axis-angle poses through the body's sagittal plane (x -> -x).

    pose: (..., 3J) with J = 24 (full pose) — joint j of the result is the mirror of joint
    ``MIRROR_PERMUTATION[j]``. Reflecting x negates the y and z components of a rotation
    axis-angle (a reflection conjugates rotations: R' = S R S with S = diag(-1, 1, 1)).
    Applying it twice is the identity.
    """
    if pose.shape[-1] % 3:
        raise ValueError(f"pose must have 3 values per joint, got last dimension {pose.shape[-1]}")
    num_joints = pose.shape[-1] // 3
    if num_joints != NUM_JOINTS:
        raise ValueError(f"mirror_pose expects the full {NUM_JOINTS}-joint pose, got {num_joints} joints")
    rotvecs = pose.reshape(*pose.shape[:-1], num_joints, 3)  # (..., J, 3)
    permutation, signs = _mirror_constants(pose.device)
    mirrored = rotvecs.index_select(-2, permutation) * signs.to(pose.dtype)
    return mirrored.reshape(pose.shape)


def mirror_joints(points: torch.Tensor) -> torch.Tensor:
    """(B, 24, D) per-joint points -> each joint takes its mirror twin's (left <-> right)."""
    return points.index_select(1, _mirror_constants(points.device)[0])


@functools.cache
def _mirror_constants(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The mirror permutation and the axis-angle signs, made on ``device`` once: a Python list
    used as an index is copied from host memory at every call, and on a GPU such a copy waits."""
    return torch.tensor(MIRROR_PERMUTATION, device=device), torch.tensor([1.0, -1.0, -1.0], device=device)
