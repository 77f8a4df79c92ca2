"""Human3.6M's protocols 1 and 2 from a J_regressor_h36m-shaped file, and its bad-input errors."""

import numpy as np
import pytest
import torch

from hmrlib.evaluation.h36m_protocol import RegressorError, h36m_protocols, load_h36m_regressor


def regressor_file(path, joints, vertices, seed=0):
    weights = np.random.default_rng(seed).random((joints, vertices)).astype(np.float32)
    np.save(path, weights / weights.sum(1, keepdims=True))  # each joint a convex mix of vertices
    return path


def test_protocols_from_a_regressor(tmp_path, standin):
    regressor = load_h36m_regressor(regressor_file(tmp_path / "J.npy", 17, standin.num_vertices), standin.num_vertices)
    target = torch.randn(3, standin.num_vertices, 3)
    same = h36m_protocols(target, target, regressor)
    assert torch.allclose(same["mpjpe_p1_mm"], torch.zeros(3), atol=1e-3)
    shifted = h36m_protocols(target + torch.tensor([0.1, 0.0, 0.0]), target, regressor)
    assert torch.allclose(shifted["mpjpe_p1_mm"], torch.zeros(3), atol=1e-2)  # the pelvis is aligned
    scaled = h36m_protocols(1.5 * target, target, regressor)
    assert (scaled["mpjpe_p1_mm"] > 1).all() and torch.allclose(scaled["pa_mpjpe_p2_mm"], torch.zeros(3), atol=1e-2)


def test_a_regressor_for_smpl_is_refused_with_the_stand_in(tmp_path, standin):
    path = regressor_file(tmp_path / "J_regressor_h36m.npy", 17, 6890)
    with pytest.raises(RegressorError) as err:
        load_h36m_regressor(path, standin.num_vertices)
    assert str(path) in str(err.value) and "6890" in str(err.value) and "13348" in str(err.value)


def test_a_regressor_of_the_wrong_shape_is_named(tmp_path):
    path = regressor_file(tmp_path / "J.npy", 24, 6890)
    with pytest.raises(RegressorError, match=r"J.npy: .* 17 x vertices, this one is \(24, 6890\)"):
        load_h36m_regressor(path, 6890)
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not numpy")
    with pytest.raises(RegressorError, match="broken.npy: not a readable"):
        load_h36m_regressor(broken, 6890)
