"""Every reported number against a value computed by hand or independently, on cases where the
plausible wrong versions (another norm, alignment, joint set or angle formula) give another number.
Each test's docstring names the wrong versions it rules out."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from hmrlib.evaluation.h36m_protocol import h36m_protocols
from hmrlib.evaluation.metrics import (
    course_mse,
    mpjpe,
    orientation_error_deg,
    pa_errors_by_group,
    pa_joint_errors,
    pa_mpjpe,
    pve,
)

SMPL_ARMS = [16, 17, 18, 19, 20, 21, 22, 23]  # L/R shoulder, elbow, wrist, hand (SMPL's joint order)
SMPL_LEGS = [1, 2, 4, 5, 7, 8, 10, 11]  # L/R hip, knee, ankle, foot
SMPL_TORSO = [0, 3, 6, 9, 12, 13, 14, 15]  # pelvis, spine 1-3, neck, collars, head


def test_mse_and_pve_of_a_3_4_0_centimetre_error():
    """MSE = mean over B x V x 3 of the squares (not their sum over xyz: 0.0025, nor a root);
    PVE = mean Euclidean norm (50 mm; an L1 norm gives 70, a squared one 2.5)."""
    target = torch.zeros(2, 4, 3)
    predicted = target.clone()
    predicted[0, :, :2] = torch.tensor([0.03, 0.04])  # every vertex of sample 0
    predicted[1, 0, 2] = 0.12  # one vertex of four in sample 1
    assert torch.allclose(course_mse(predicted, target), torch.tensor([0.0025 / 3, 0.0144 / 12]))
    assert torch.allclose(pve(predicted, target), torch.tensor([50.0, 30.0]))


def test_mpjpe_aligns_the_pelvises():
    """Only the pelvis moved by 12 cm: after aligning the pelvises the other 23 joints are 120 mm
    off, so MPJPE = 23/24 x 120 = 115 mm. Rules out no alignment (5 mm) and aligning the joints'
    centroids (about 10 mm)."""
    target = torch.randn(1, 24, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    predicted = target.clone()
    predicted[0, 0] += torch.tensor([0.0, 0.12, 0.0], dtype=torch.float64)
    assert torch.allclose(mpjpe(predicted, target), torch.tensor([115.0], dtype=torch.float64))


def similarity_fit(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Independent Procrustes: the scale, proper rotation and translation that minimise the sum of
    squared distances, found by a general-purpose optimiser; returns the aligned source (J, 3)."""

    def aligned(x):
        return np.exp(x[0]) * Rotation.from_rotvec(x[1:4]).apply(source) + x[4:]

    best = min(
        (
            minimize(
                lambda x: np.square(aligned(x) - target).sum(), np.r_[0.0, start, 0, 0, 0], method="BFGS", tol=1e-14
            )
            for start in np.eye(3) * 2.0
        ),
        key=lambda result: result.fun,
    )
    return aligned(best.x)


@pytest.mark.parametrize("mirrored", [False, True])
def test_pa_mpjpe_against_an_independent_similarity_fit(mirrored):
    """Rules out a rigid fit without scale, a fit that may reflect (a mirrored body would then
    score nearly 0), and averaging before the norm: the value equals the optimiser's fit."""
    rng = np.random.default_rng(3)
    target = rng.normal(size=(24, 3)) * 0.3
    source = 0.8 * Rotation.from_rotvec([0.3, -1.2, 0.5]).apply(target) + [0.1, 0.2, 3.0]
    source += rng.normal(size=(24, 3)) * 0.03
    if mirrored:
        source[:, 0] *= -1
    expected = 1000 * np.linalg.norm(similarity_fit(source, target) - target, axis=1)
    as_tensor = torch.tensor(np.stack([source, target]), dtype=torch.float64)
    errors = pa_joint_errors(as_tensor[:1], as_tensor[1:]).numpy()[0]
    assert np.allclose(errors, expected, atol=1e-3)
    assert pa_mpjpe(as_tensor[:1], as_tensor[1:]).item() == pytest.approx(expected.mean(), abs=1e-3)
    rigid = Rotation.align_vectors(target - target.mean(0), source - source.mean(0))[0]
    rigid_error = 1000 * np.linalg.norm(rigid.apply(source - source.mean(0)) + target.mean(0) - target, axis=1).mean()
    assert abs(rigid_error - expected.mean()) > 5  # the case tells a fit without scale apart


def test_per_group_pa_errors_come_from_one_alignment_of_all_24_joints():
    """Rules out aligning each group on its own (a moved arm then scores ~0) and other joint
    groups: the means over SMPL's arm, leg and torso joints of the one 24-joint fit's errors."""
    rng = np.random.default_rng(4)
    target = rng.normal(size=(24, 3)) * 0.3
    source = target.copy()
    source[SMPL_ARMS[4:6]] += [0.15, -0.1, 0.05]  # both elbows moved
    errors = 1000 * np.linalg.norm(similarity_fit(source, target) - target, axis=1)
    as_tensor = torch.tensor(np.stack([source, target]), dtype=torch.float64)
    groups = {k: v.item() for k, v in pa_errors_by_group(as_tensor[:1], as_tensor[1:]).items()}
    expected = {"pa_arms_mm": errors[SMPL_ARMS].mean(), "pa_legs_mm": errors[SMPL_LEGS].mean()}
    expected["pa_torso_mm"] = errors[SMPL_TORSO].mean()
    assert groups == pytest.approx(expected, abs=1e-3)
    assert groups["pa_arms_mm"] > 30 and groups["pa_legs_mm"] < groups["pa_arms_mm"] / 2


def test_heading_error_is_the_geodesic_angle_at_any_target():
    """At targets other than the identity: rules out the difference of the axis-angle vectors'
    norms or of the vectors themselves, and composing R_pred R_target instead of R_pred^T R_target."""
    rng = np.random.default_rng(5)
    targets = Rotation.from_rotvec(rng.normal(size=(6, 3)))
    angles = np.array([5.0, 30.0, 90.0, 135.0, 170.0, 60.0])
    axes = rng.normal(size=(6, 3))
    offsets = Rotation.from_rotvec(np.radians(angles)[:, None] * axes / np.linalg.norm(axes, axis=1, keepdims=True))
    predicted = targets * offsets
    error = orientation_error_deg(
        torch.tensor(predicted.as_rotvec(), dtype=torch.float64), torch.tensor(targets.as_rotvec(), dtype=torch.float64)
    )
    assert np.allclose(error.numpy(), angles, atol=1e-6)


def test_mpjpe_with_the_true_heading_and_the_breakdown_on_a_wrong_articulation(tiny_root, standin):
    """A prediction with the true heading but the elbows bent: the heading error is 0, MPJPE with
    the true heading equals the plain MPJPE, and both equal an independent computation from the
    body model's joints (rules out reporting 0 whenever the heading is right)."""
    from hmrlib.data.dataset import H36MDataset
    from hmrlib.evaluation.evaluate import score

    dataset = H36MDataset(tiny_root, subjects=["S9"], image_size=32)
    indices = [0, 7]
    labels = dataset.labels(indices)
    body_pose = labels["body_pose"].clone()
    body_pose[:, 3 * 17 : 3 * 17 + 3] += torch.tensor([0.0, 1.2, 0.0])  # joint 18 (left elbow) bent
    body_pose[:, 3 * 18 : 3 * 18 + 3] += torch.tensor([0.0, -1.2, 0.0])  # joint 19 (right elbow)
    pose = torch.cat([labels["global_orient"], body_pose], 1)
    per_sample = score(pose, labels["betas"], dataset, standin, indices)
    with torch.no_grad():
        truth = standin(**labels).joints.double().numpy()
        predicted = standin.mesh(pose, labels["betas"], labels["transl"]).joints.double().numpy()
    expected = 1000 * np.linalg.norm((predicted - predicted[:, :1]) - (truth - truth[:, :1]), axis=2).mean(1)
    assert np.allclose(per_sample.orient_err_deg, 0, atol=1e-2)
    assert np.allclose(per_sample.mpjpe_mm, expected, atol=1e-2) and expected.min() > 10
    assert np.allclose(per_sample.mpjpe_gt_orient_mm, expected, atol=1e-2)


def test_h36m_protocols_use_spins_14_joints_after_aligning_the_pelvis(standin):
    """A regressor that reads joint j off vertex j; only Human3.6M joints 7 (spine) and 9 (nose),
    which SPIN's 14 leave out, and joint 6 (left ankle) are moved. Rules out scoring all 17 joints
    (MPJPE 17/14 of this) and not aligning the pelvis (Human3.6M joint 0)."""
    vertices = standin.num_vertices
    regressor = torch.zeros(17, vertices)
    regressor[torch.arange(17), torch.arange(17)] = 1.0
    target = torch.randn(1, vertices, 3, generator=torch.Generator().manual_seed(6)) * 0.3
    predicted = target + 0.5  # a global shift: aligned away
    predicted[0, [7, 9]] += torch.tensor([0.2, 0.0, 0.0])
    predicted[0, 6] += torch.tensor([0.0, 0.14, 0.0])
    values = h36m_protocols(predicted, target, regressor)
    assert values["mpjpe_p1_mm"].item() == pytest.approx(140.0 / 14, abs=1e-3)
    assert values["pa_mpjpe_p2_mm"].item() > 0
