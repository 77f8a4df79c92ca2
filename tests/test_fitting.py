"""The fit after the network (hmrlib.fitting): its body points equal the body model's, and a fit
recovers a known body from that body's own projected keypoints — turned away from the camera,
arms raised — without swapping sides; a keypoint nobody trusts moves nothing; a fit that ends
worse than it began keeps the network's answer; people fitted together are fitted as alone."""

import pytest
import torch

from hmrlib.fitting import FitSettings, KeypointBody, fit_to_keypoints
from hmrlib.fitting.correspondence import HIP_LANDMARKS, LIMB_JOINTS, POINT_NAMES, SURFACE_POINTS
from hmrlib.fitting.losses import project
from hmrlib.geometry import about_camera_vertical, heading_angle, matrix_to_rotvec, rotvec_to_matrix
from hmrlib.models.discriminator import PoseDiscriminator

INTRINSICS = torch.tensor([1000.0, 1000.0, 500.0, 500.0])
TRANSL = torch.tensor([0.1, 0.2, 4.0])
SIDE = 500.0  # pixels: about the body's projected height at 4 m


def standing(people: int, heading_deg: float = 0.0) -> torch.Tensor:
    """(B, 72) a body standing upright in the camera frame (y down), facing the camera, turned by
    ``heading_deg`` about the camera's vertical."""
    pose = torch.zeros(people, 72)
    upright = rotvec_to_matrix(torch.tensor([[torch.pi, 0.0, 0.0]]))  # SMPL's y up -> the camera's y down
    turn = about_camera_vertical(torch.full((people,), heading_deg * torch.pi / 180))
    pose[:, :3] = matrix_to_rotvec(turn @ upright)
    return pose


def keypoints_of(body_points, pose, betas, transl=TRANSL, confidence=1.0) -> torch.Tensor:
    """(B, 33, 3) the BlazePose landmarks a perfect detector would give for this body."""
    joints, surface = body_points(pose, betas)
    joints_2d = project(joints + transl, INTRINSICS.expand(len(pose), 4))
    surface_2d = project(surface + transl, INTRINSICS.expand(len(pose), 4))
    keypoints = torch.zeros(len(pose), 33, 3)
    for smpl, blaze in LIMB_JOINTS:
        keypoints[:, blaze, :2] = joints_2d[:, smpl]
    for index, (_, blaze) in enumerate(SURFACE_POINTS):
        keypoints[:, blaze, :2] = surface_2d[:, index]
    used = [blaze for _, blaze in LIMB_JOINTS] + [blaze for _, blaze in SURFACE_POINTS]
    keypoints[:, used, 2] = confidence
    return keypoints


def fit(body_points, pose, keypoints, settings=None, discriminator=None, betas=None):
    people = len(pose)
    return fit_to_keypoints(
        body_points,
        pose,
        torch.zeros(people, 10) if betas is None else betas,
        TRANSL.expand(people, 3),
        keypoints,
        INTRINSICS.expand(people, 4),
        torch.full((people,), SIDE),
        discriminator,
        settings or FitSettings(prior="none"),
    )


@pytest.fixture(scope="module")
def body_points(standin):
    return KeypointBody(standin)


def test_the_fits_body_points_are_the_body_models_joints_and_vertices(standin, body_points):
    torch.manual_seed(0)
    pose, betas = 0.4 * torch.randn(3, 72), torch.randn(3, 10)
    joints, surface = body_points(pose, betas)
    with torch.no_grad():
        mesh = standin.mesh(pose, betas)
    vertices = mesh.vertices[:, [standin.landmark_vertices[name] for name, _ in SURFACE_POINTS]]
    assert torch.allclose(joints, mesh.joints, atol=1e-5)
    assert torch.allclose(surface, vertices, atol=1e-5)
    assert len(POINT_NAMES) == 20


def test_a_body_turned_away_with_raised_arms_is_recovered_from_its_keypoints(body_points):
    """The network says: facing the camera, arms out. The keypoints say: turned 160° away,
    both arms raised. The fit must turn the body (the 180° start of stage 1), lift
    the arms, and put every point back within 2 % of the box side."""
    truth = standing(1, heading_deg=160.0)
    truth[0, 16 * 3 + 2], truth[0, 17 * 3 + 2] = 1.0, -1.0  # shoulders about SMPL's z: both arms up
    betas = torch.zeros(1, 10)
    result = fit(body_points, standing(1), keypoints_of(body_points, truth, betas))
    heading_error = heading_angle(rotvec_to_matrix(result.pose[:, :3])) - heading_angle(rotvec_to_matrix(truth[:, :3]))
    heading_error = torch.rad2deg(torch.atan2(heading_error.sin(), heading_error.cos())).abs().item()
    assert heading_error < 10, f"heading off by {heading_error:.1f}°"
    assert result.kept.item() and result.error_fit.item() < 0.02 < result.error_network.item()
    joints, _ = body_points(result.pose, result.betas)
    shoulders, wrists = joints[0, [16, 17], 1], joints[0, [20, 21], 1]
    assert (wrists < shoulders - 0.1).all(), "the wrists must end above the shoulders (y down)"


def test_left_and_right_are_not_swapped(body_points):
    """Only the left arm raised: the fitted left wrist lands on BlazePose's left wrist (15), and
    the right arm stays out at the shoulder's height."""
    truth = standing(1, heading_deg=20.0)
    truth[0, 16 * 3 + 2] = 1.0
    keypoints = keypoints_of(body_points, truth, torch.zeros(1, 10))
    result = fit(body_points, standing(1), keypoints)
    joints, _ = body_points(result.pose, result.betas)
    wrists_2d = project(joints[:, [20, 21]] + TRANSL, INTRINSICS.expand(1, 4))[0]
    left, right = keypoints[0, 15, :2], keypoints[0, 16, :2]
    assert (wrists_2d[0] - left).norm() < 0.03 * SIDE < (wrists_2d[0] - right).norm()
    assert (wrists_2d[1] - right).norm() < 0.03 * SIDE
    assert joints[0, 20, 1] < joints[0, 16, 1] - 0.2 and (joints[0, 21, 1] - joints[0, 17, 1]).abs() < 0.1


def test_a_keypoint_with_zero_confidence_moves_nothing(body_points):
    truth = standing(1, heading_deg=30.0)
    truth[:, 18 * 3 + 1] = 1.0
    keypoints = keypoints_of(body_points, truth, torch.zeros(1, 10))
    keypoints[0, 15, 2] = 0.0  # the left wrist, trusted by nobody: where it is must not matter
    far_off = keypoints.clone()
    far_off[0, 15, :2] = torch.tensor([5000.0, -3000.0])
    result, moved = fit(body_points, standing(1), keypoints), fit(body_points, standing(1), far_off)
    assert torch.equal(result.pose, moved.pose) and torch.equal(result.betas, moved.betas)
    assert result.keypoints_used.tolist() == [19] and result.kept.item()


def test_a_fit_that_ends_worse_keeps_the_networks_answer(body_points):
    truth = standing(1, heading_deg=10.0)
    keypoints = keypoints_of(body_points, truth, torch.zeros(1, 10))
    wild = FitSettings(prior="none", learning_rate=3.0, translation_rate=3.0)  # Adam thrown about
    start = standing(1, heading_deg=12.0)
    result = fit(body_points, start, keypoints, wild)
    assert not result.kept.item() and result.error_fit.item() > result.error_network.item()
    assert torch.equal(result.pose, start) and torch.equal(result.transl, TRANSL[None])


def test_people_fitted_together_are_fitted_as_alone_and_the_prior_is_left_as_it_was(body_points):
    torch.manual_seed(1)
    truth = standing(3, heading_deg=50.0) + 0.3 * torch.randn(3, 72) * (torch.arange(72) >= 3)
    keypoints = keypoints_of(body_points, truth, torch.zeros(3, 10))
    keypoints[:, HIP_LANDMARKS, 2] = 0.9
    discriminator = PoseDiscriminator().train()
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    settings = FitSettings(prior="discriminator", prior_weight=1e-2)
    together = fit(body_points, standing(3), keypoints, settings, discriminator)
    alone = [fit(body_points, standing(1), keypoints[k : k + 1], settings, discriminator) for k in range(3)]
    assert torch.allclose(together.pose, torch.cat([a.pose for a in alone]), atol=1e-4)
    assert discriminator.training and all(p.requires_grad for p in discriminator.parameters())
    assert all(torch.equal(before[k], v) for k, v in discriminator.state_dict().items())
    with pytest.raises(ValueError, match="needs the checkpoint's discriminator"):
        fit(body_points, standing(1), keypoints[:1], settings)
