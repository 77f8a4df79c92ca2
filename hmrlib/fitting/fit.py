"""Fitting the body to 2D keypoints after the network, in two stages (as SMPLify in SPIN).

1. Camera: the global orientation and the translation from the torso and head points alone,
   from the network's answer and from it turned by 180° about the camera's vertical (the
   network's commonest error is a body facing the wrong way); each person keeps the better.
2. Body: orientation, body pose and betas against every keypoint, the translation held.

Each stage is Adam on a robust reprojection (:func:`~hmrlib.fitting.losses.gmof`) weighted by
the keypoints' confidences, plus priors by name (:class:`FitSettings`): one pose prior —
staying near the network's pose (the default: the best on the validation subject), the paper's
discriminators as the realism of the pose, or none — and the shape near the
network's, elbows and knees not bent backwards, and the depth near where it started. People are
fitted together (Adam's steps are per element, so a person's fit does not depend on who else is
in the batch). A person whose fit ends with a larger reprojection error than the network's
answer, or not finite, keeps the network's answer and says so (``FitResult.kept``).
"""

from dataclasses import dataclass

import torch

from hmrlib.fitting.correspondence import TORSO_POINTS, target_points
from hmrlib.fitting.keypoint_body import KeypointBody
from hmrlib.fitting.losses import (
    bend_prior,
    gmof,
    keypoint_residuals,
    realism_prior,
    reprojection_error,
    weighted_mean,
)
from hmrlib.geometry import about_camera_vertical, matrix_to_rotvec, rotvec_to_matrix

PRIORS = ("near-network", "discriminator", "none")
# each prior's weight, chosen on the validation subject S8 by benchmarks/bench_fitting.py (docs/results.md)
PRIOR_WEIGHTS = {"near-network": 1e-2, "discriminator": 1e-3, "none": 0.0}


@dataclass(frozen=True)
class FitSettings:
    camera_steps: int = 30
    body_steps: int = 50
    learning_rate: float = 0.05  # Adam's, for rotations (radians) and betas
    translation_rate: float = 0.02  # Adam's, for the translation (metres)
    robust_scale: float = 0.2  # GMoF's scale, in box sides
    min_confidence: float = 0.5  # a keypoint rated below this is left out (weight 0)
    prior: str = "near-network"  # which pose prior: one of PRIORS (near-network: the best on S8)
    prior_weight: float | None = None  # -log D's, or the mean squared change's; None: PRIOR_WEIGHTS[prior]
    shape_weight: float = 1e-4  # mean squared change of the betas from the network's
    bend_weight: float = 1e-4  # elbows and knees bent backwards
    depth_weight: float = 1.0  # stage 1: squared change of the depth (metres)
    fit_translation: bool = True  # False: the translation is known (the course's root_loc)
    turn_around: bool = True  # stage 1 also tries the body turned by 180°

    def __post_init__(self):
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {self.prior!r}")
        if self.prior_weight is None:
            object.__setattr__(self, "prior_weight", PRIOR_WEIGHTS[self.prior])


@dataclass
class FitResult:
    pose: torch.Tensor  # (B, 72) the fitted pose where kept, else the network's
    betas: torch.Tensor  # (B, β)
    transl: torch.Tensor  # (B, 3)
    error_network: torch.Tensor  # (B,) reprojection error of the network's answer, in box sides
    error_fit: torch.Tensor  # (B,) of the fit (before the choice)
    kept: torch.Tensor  # (B,) bool: the fit was kept (False: the network's answer is returned)
    keypoints_used: torch.Tensor  # (B,) how many keypoints had weight


def fit_to_keypoints(
    body_points,
    pose: torch.Tensor,
    betas: torch.Tensor,
    transl: torch.Tensor,
    keypoints: torch.Tensor,
    intrinsics: torch.Tensor,
    box_side: torch.Tensor,
    discriminator=None,
    settings: FitSettings = FitSettings(),
) -> FitResult:
    """Fit B people. body_points: a :class:`~hmrlib.fitting.KeypointBody`; pose (B, 72) axis-angle,
    betas (B, β), transl (B, 3) camera frame: the network's answer; keypoints (B, 33, 3) BlazePose's
    landmarks (x, y pixels, confidence); intrinsics (B, 4) fx, fy, cx, cy; box_side (B,) pixels;
    discriminator: the checkpoint's :class:`~hmrlib.models.discriminator.PoseDiscriminator` (needed
    by ``prior='discriminator'``)."""
    if settings.prior == "discriminator" and discriminator is None:
        raise ValueError("prior='discriminator' needs the checkpoint's discriminator (or choose another prior)")
    people = pose.shape[0]
    for name, value, shape in (
        ("pose", pose, (people, 72)),
        ("betas", betas, (people, body_points.joint_shapedirs.shape[-1])),
        ("transl", transl, (people, 3)),
        ("keypoints", keypoints, (people, 33, 3)),
        ("intrinsics", intrinsics, (people, 4)),
        ("box_side", box_side, (people,)),
    ):
        if tuple(value.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    device = body_points.joint_template.device
    start = [t.detach().to(device, torch.float32) for t in (pose, betas, transl, keypoints, intrinsics, box_side)]
    pose, betas, transl, keypoints, intrinsics, box_side = start
    targets, confidence = target_points(keypoints)
    weights = torch.where(confidence >= settings.min_confidence, confidence, torch.zeros_like(confidence))
    context = (targets, intrinsics, box_side)
    with torch.enable_grad(), _frozen(discriminator):
        orient, fitted_transl = _camera_stage(body_points, pose, betas, transl, context, weights, settings)
        fitted = _body_stage(body_points, orient, pose, betas, fitted_transl, context, weights, discriminator, settings)
    with torch.no_grad():
        error_network = reprojection_error(keypoint_residuals(*body_points(pose, betas), transl, *context), weights)
        error_fit = reprojection_error(keypoint_residuals(*body_points(*fitted), fitted_transl, *context), weights)
    used = (weights > 0).sum(1)
    kept = torch.isfinite(error_fit) & (error_fit < error_network) & (used > 0)
    choose = kept[:, None]
    return FitResult(
        pose=torch.where(choose, fitted[0], pose),
        betas=torch.where(choose, fitted[1], betas),
        transl=torch.where(choose, fitted_transl, transl),
        error_network=error_network,
        error_fit=error_fit,
        kept=kept,
        keypoints_used=used,
    )


def _camera_stage(body_points, pose, betas, transl, context, weights, settings):
    """Stage 1 -> (orientation (B, 3, 3), translation (B, 3)) from the torso and head points."""
    turns = [0.0, torch.pi] if settings.turn_around else [0.0]
    count = len(turns)
    start = rotvec_to_matrix(pose[:, :3])  # (B, 3, 3)
    angles = torch.tensor(turns, device=pose.device).repeat_interleave(len(pose))  # (H*B,)
    orient0 = about_camera_vertical(angles) @ start.repeat(count, 1, 1)  # turned about the pelvis
    body_pose, shape = pose[:, 3:].repeat(count, 1), betas.repeat(count, 1)
    transl0 = transl.repeat(count, 1)
    context = tuple(t.repeat(count, *([1] * (t.dim() - 1))) for t in context)
    torso = torch.zeros_like(weights)
    torso[:, list(TORSO_POINTS)] = weights[:, list(TORSO_POINTS)]
    torso = torso.repeat(count, 1)
    turn = torch.zeros_like(transl0, requires_grad=True)  # a rotation vector applied after orient0
    shift = torch.zeros_like(transl0, requires_grad=settings.fit_translation)
    groups = [{"params": [turn], "lr": settings.learning_rate}]
    if settings.fit_translation:
        groups.append({"params": [shift], "lr": settings.translation_rate})
    optimiser = torch.optim.Adam(groups)

    def loss_per_person():
        orient = matrix_to_rotvec(rotvec_to_matrix(turn) @ orient0)
        joints, surface = body_points(torch.cat([orient, body_pose], 1), shape)
        residuals = keypoint_residuals(joints, surface, transl0 + shift, *context)
        reprojection = weighted_mean(gmof(residuals, settings.robust_scale), torso)
        return reprojection + settings.depth_weight * shift[:, 2].pow(2)

    for _ in range(settings.camera_steps):
        optimiser.zero_grad(set_to_none=True)
        loss_per_person().sum().backward()
        optimiser.step()
    with torch.no_grad():
        final = loss_per_person().view(count, -1)  # (H, B)
        best = final.argmin(0)  # each person's better start
        people = torch.arange(final.shape[1], device=final.device)
        orient = (rotvec_to_matrix(turn) @ orient0).view(count, -1, 3, 3)[best, people]
        translation = (transl0 + shift).view(count, -1, 3)[best, people]
    return orient, translation


def _body_stage(body_points, orient, pose, betas, transl, context, weights, discriminator, settings):
    """Stage 2 -> (pose (B, 72), betas (B, β)) against every keypoint, the translation held."""
    network_body = pose[:, 3:]
    turn = torch.zeros_like(transl, requires_grad=True)
    body_pose = network_body.clone().requires_grad_(True)
    shape = betas.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([turn, body_pose, shape], lr=settings.learning_rate)

    def current_pose():
        return torch.cat([matrix_to_rotvec(rotvec_to_matrix(turn) @ orient), body_pose], 1)

    for _ in range(settings.body_steps):
        optimiser.zero_grad(set_to_none=True)
        full = current_pose()
        residuals = keypoint_residuals(*body_points(full, shape), transl, *context)
        loss = weighted_mean(gmof(residuals, settings.robust_scale), weights)
        if settings.prior == "discriminator":
            loss = loss + settings.prior_weight * realism_prior(discriminator, full)
        elif settings.prior == "near-network":
            loss = loss + settings.prior_weight * (body_pose - network_body).pow(2).mean(1)
        loss = loss + settings.shape_weight * (shape - betas).pow(2).mean(1)
        loss = loss + settings.bend_weight * bend_prior(full)
        loss.sum().backward()
        optimiser.step()
    return current_pose().detach(), shape.detach()


class _frozen:
    """Within: the discriminator in eval mode with no gradients for its own weights (the fit moves
    the pose, not the prior); afterwards as it was."""

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        if self.module is not None:
            self.was_training = self.module.training
            self.flags = [p.requires_grad for p in self.module.parameters()]
            self.module.eval().requires_grad_(False)

    def __exit__(self, *exc):
        if self.module is not None:
            self.module.train(self.was_training)
            for parameter, flag in zip(self.module.parameters(), self.flags):
                parameter.requires_grad_(flag)


class KeypointFitter:
    """The fit bundled with its body points, prior and settings: what predict and evaluate hold.
    ``fitter(pose, betas, transl, keypoints, intrinsics, box_side)`` -> :class:`FitResult`."""

    def __init__(self, body, discriminator=None, settings: FitSettings = FitSettings()):
        if settings.prior == "discriminator" and discriminator is None:
            raise ValueError("the discriminator prior needs a full-model checkpoint (it has the discriminators)")
        self.body_points = KeypointBody(body).to(body.smpl.v_template.device)
        self.discriminator = discriminator
        self.settings = settings

    def __call__(self, pose, betas, transl, keypoints, intrinsics, box_side) -> FitResult:
        return fit_to_keypoints(
            self.body_points, pose, betas, transl, keypoints, intrinsics, box_side, self.discriminator, self.settings
        )
