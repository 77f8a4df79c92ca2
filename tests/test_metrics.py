import torch

from hmrlib.evaluation.metrics import course_mse, mpjpe, pa_mpjpe, procrustes_align, pve


def random_rotation(generator):
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.linalg.det(q))


def test_course_mse_is_the_mean_squared_coordinate_error():
    target = torch.zeros(2, 5, 3)
    predicted = torch.zeros(2, 5, 3)
    predicted[0, :, 0] = 0.1  # 10 cm along x on every vertex of sample 0
    assert torch.allclose(course_mse(predicted, target), torch.tensor([0.01 / 3, 0.0]))
    assert torch.allclose(pve(predicted, target), torch.tensor([100.0, 0.0]))


def test_mpjpe_ignores_a_global_shift_and_pa_mpjpe_a_similarity():
    g = torch.Generator().manual_seed(0)
    joints = torch.randn(3, 24, 3, generator=g, dtype=torch.float64)
    shifted = joints + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    assert mpjpe(shifted, joints).abs().max() < 1e-9
    rotation = random_rotation(g)
    moved = 1.7 * joints @ rotation.T + 0.3
    assert mpjpe(moved, joints).min() > 100
    assert pa_mpjpe(moved, joints).abs().max() < 1e-6
    assert torch.allclose(procrustes_align(moved, joints), joints, atol=1e-9)


def test_pa_mpjpe_does_not_reflect():
    g = torch.Generator().manual_seed(1)
    joints = torch.randn(1, 24, 3, generator=g, dtype=torch.float64)
    mirrored = joints * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert pa_mpjpe(mirrored, joints).item() > 10  # a reflection is not a rotation


def test_range_violations_count_joints_beyond_the_training_range_by_more_than_the_tolerance():
    import numpy as np

    from hmrlib.present.plausibility import joint_angle_limits, range_violations

    training = np.zeros((200, 72))
    training[:, 3] = np.linspace(0.0, 1.0, 200)  # joint 1 bends up to 1 rad; the others never rotate
    limits = joint_angle_limits(training)
    assert limits[0] > 0.99 and not limits[1:].any()
    near = np.zeros((1, 72))
    near[0, 3], near[0, 6] = 1.05, 0.01  # 3 degrees over the limit, and a never-rotating joint at 0.6 degrees
    assert range_violations(near, limits)[0] == 0.0
    far = np.zeros((1, 72))
    far[0, 3], far[0, 6] = 1.3, 0.3  # both well beyond
    assert range_violations(far, limits)[0] == 2 / 23


def test_orientation_error_is_the_geodesic_angle():
    from hmrlib.evaluation.metrics import orientation_error_deg

    about_y = torch.tensor([[0.0, torch.pi / 2, 0.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(orientation_error_deg(about_y, torch.zeros(2, 3)), torch.tensor([90.0, 0.0]), atol=1e-3)


def test_the_breakdown_tells_a_wrong_heading_from_a_wrong_articulation(tiny_root, standin):
    """A prediction with the true body pose but the heading turned by 180 degrees: the heading
    error is 180, MPJPE with the true heading put back is 0, and PA-MPJPE per part is 0."""
    from hmrlib.data.dataset import H36MDataset
    from hmrlib.evaluation.evaluate import score, summarize
    from hmrlib.geometry import matrix_to_rotvec, rotvec_to_matrix

    dataset = H36MDataset(tiny_root, subjects=["S9"], image_size=32)
    indices = [0, 5, 10, 15]
    labels = dataset.labels(indices)
    turn = rotvec_to_matrix(torch.tensor([[0.0, torch.pi, 0.0]]))  # about the camera's vertical axis
    turned = matrix_to_rotvec(turn @ rotvec_to_matrix(labels["global_orient"]))
    pose = torch.cat([turned, labels["body_pose"]], dim=1)
    per_sample = score(pose, labels["betas"], dataset, standin, indices)
    assert torch.allclose(torch.tensor(per_sample.orient_err_deg.values), torch.tensor(180.0).double(), atol=0.1)
    assert (per_sample.orient_beyond_90 == 1).all() and (per_sample.mpjpe_gt_orient_mm < 0.1).all()
    assert (per_sample[["pa_torso_mm", "pa_legs_mm", "pa_arms_mm"]] < 0.1).all().all()
    assert (per_sample.mpjpe_mm > 100).all()  # the heading is what MPJPE sees
    overall = summarize(per_sample).iloc[0]
    assert overall.orient_beyond_90 == 1.0 and abs(overall.orient_err_median_deg - 180) < 0.1
