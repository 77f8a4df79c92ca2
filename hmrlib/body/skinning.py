"""SMPL's linear blend skinning with the kinematic tree as Python integers.

smplx's ``lbs`` walks the tree with ``parents[i]``, a 0-d tensor on the model's device: on a
GPU each of the 23 steps reads it back to the host, 2-3 body-model calls a training step. This
is the same computation from smplx's own building blocks (blend_shapes, vertices2joints,
batch_rodrigues, transform_mat), with the parents read once when the model is built.
tests/test_body_model.py checks it against smplx's SMPL forward.
"""

import functools

import torch
import torch.nn.functional as F
from smplx.lbs import batch_rodrigues, blend_shapes, transform_mat, vertices2joints


def skin(smpl, pose: torch.Tensor, betas: torch.Tensor, parents: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """pose (B, 72) axis-angle, betas (B, num_betas) of an smplx SMPL layer's model ->
    (vertices (B, V, 3), joints (B, 24, 3)) before translation. ``parents``: the tree, parents[0] = -1."""
    batch = pose.shape[0]
    v_shaped = smpl.v_template + blend_shapes(betas, smpl.shapedirs)  # (B, V, 3)
    rest_joints = vertices2joints(smpl.J_regressor, v_shaped)  # (B, J, 3)
    rotations = batch_rodrigues(pose.reshape(-1, 3)).view(batch, -1, 3, 3)  # (B, J, 3, 3)
    identity = torch.eye(3, dtype=pose.dtype, device=pose.device)
    pose_feature = (rotations[:, 1:] - identity).view(batch, -1)
    v_posed = v_shaped + torch.matmul(pose_feature, smpl.posedirs).view(batch, -1, 3)
    joints, relative = rigid_transforms(rotations, rest_joints, parents)
    weights = smpl.lbs_weights.unsqueeze(0).expand(batch, -1, -1)  # (B, V, J)
    per_vertex = torch.matmul(weights, relative.view(batch, len(parents), 16)).view(batch, -1, 4, 4)
    vertices = torch.matmul(per_vertex[..., :3, :3], v_posed.unsqueeze(-1))[..., 0] + per_vertex[..., :3, 3]
    return vertices, joints


@functools.cache
def parent_index(parents: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """(J - 1,) the parents of joints 1..J-1, made on ``device`` once (a list index would be
    copied from host memory at every call: on a GPU, a wait)."""
    return torch.tensor(parents[1:], device=device)


def rigid_transforms(rotations: torch.Tensor, rest_joints: torch.Tensor, parents: tuple[int, ...]):
    """rotations (B, J, 3, 3), rest joints (B, J, 3) -> (posed joints (B, J, 3), each joint's
    transform relative to its rest position (B, J, 4, 4)): smplx's batch_rigid_transform."""
    joints = rest_joints.unsqueeze(-1)  # (B, J, 3, 1)
    parent_joints = joints[:, 1:] - joints.index_select(1, parent_index(parents, joints.device))
    relative_joints = torch.cat([joints[:, :1], parent_joints], dim=1)
    local = transform_mat(rotations.reshape(-1, 3, 3), relative_joints.reshape(-1, 3, 1))
    local = local.reshape(-1, joints.shape[1], 4, 4)
    chain = [local[:, 0]]
    for child in range(1, len(parents)):
        chain.append(torch.matmul(chain[parents[child]], local[:, child]))
    transforms = torch.stack(chain, dim=1)  # (B, J, 4, 4)
    posed = transforms[:, :, :3, 3]
    homogeneous = F.pad(joints, [0, 0, 0, 1])
    return posed, transforms - F.pad(torch.matmul(transforms, homogeneous), [3, 0, 0, 0, 0, 0, 0, 0])
