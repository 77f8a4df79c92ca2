"""SMPL's 24 joints and a few named surface points, without skinning the whole mesh.

A fit evaluates the body a hundred times for every person; the keypoints need the joints and
nine vertices, not 6,890 (13,348 for the stand-in). The joints' rest positions are linear in
the betas (J_regressor (V→J) applied to the template and the shape directions once, here), and
the chosen vertices are skinned as :func:`hmrlib.body.skinning.skin` skins every vertex.
tests/test_fitting.py checks both against the full body model.
"""

import torch
from smplx.lbs import batch_rodrigues, blend_shapes
from torch import nn

from hmrlib.body.skinning import rigid_transforms
from hmrlib.fitting.correspondence import SURFACE_POINTS


class KeypointBody(nn.Module):
    """``KeypointBody(body)(pose (B, 72), betas (B, β))`` -> (joints (B, 24, 3), surface points
    (B, 9, 3) in :data:`~hmrlib.fitting.correspondence.SURFACE_POINTS` order), before translation."""

    def __init__(self, body):
        super().__init__()
        smpl = body.smpl
        ids = [body.landmark_vertices[name] for name, _ in SURFACE_POINTS]
        regressor = smpl.J_regressor  # (J, V)
        self.parents = body.parents
        self.register_buffer("joint_template", regressor @ smpl.v_template)  # (J, 3)
        self.register_buffer("joint_shapedirs", torch.einsum("jv,vck->jck", regressor, smpl.shapedirs))  # (J, 3, β)
        self.register_buffer("point_template", smpl.v_template[ids])  # (P, 3)
        self.register_buffer("point_shapedirs", smpl.shapedirs[ids])  # (P, 3, β)
        posedirs = smpl.posedirs.view(smpl.posedirs.shape[0], -1, 3)[:, ids]  # (207, P, 3)
        self.register_buffer("point_posedirs", posedirs.reshape(posedirs.shape[0], -1))  # (207, P*3)
        self.register_buffer("point_weights", smpl.lbs_weights[ids])  # (P, J)

    def forward(self, pose: torch.Tensor, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = pose.shape[0]
        rest_joints = self.joint_template + blend_shapes(betas, self.joint_shapedirs)  # (B, J, 3)
        rest_points = self.point_template + blend_shapes(betas, self.point_shapedirs)  # (B, P, 3)
        rotations = batch_rodrigues(pose.reshape(-1, 3)).view(batch, -1, 3, 3)  # (B, J, 3, 3)
        identity = torch.eye(3, dtype=pose.dtype, device=pose.device)
        pose_feature = (rotations[:, 1:] - identity).view(batch, -1)  # (B, 207)
        posed_points = rest_points + (pose_feature @ self.point_posedirs).view(batch, -1, 3)
        joints, relative = rigid_transforms(rotations, rest_joints, self.parents)
        per_point = torch.einsum("pj,bjxy->bpxy", self.point_weights, relative)  # (B, P, 4, 4)
        points = torch.einsum("bpxy,bpy->bpx", per_point[..., :3, :3], posed_points) + per_point[..., :3, 3]
        return joints, points
