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
