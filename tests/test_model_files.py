import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
from conftest import pose_body

from hmrlib.body import ModelFileError, load_body_model


class FakeCh:
    """Pickles like chumpy.ch.Ch: its __dict__ (value in 'x') minus two weak dictionaries."""

    def __init__(self, value):
        self.x = np.asarray(value, dtype=np.float64)
        self._dirty_vars = set()
        self._itr = None
        self._depends_on_deps = {}
        self._make_dense = False
        self._make_sparse = False


@pytest.fixture
def chumpy_module(monkeypatch):
    """A module named chumpy.ch holding FakeCh under the name Ch, so pickle records it so."""
    module = types.ModuleType("chumpy.ch")
    FakeCh.__module__, FakeCh.__qualname__, FakeCh.__name__ = "chumpy.ch", "Ch", "Ch"
    module.Ch = FakeCh
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    return module


def write_chumpy_pickle(path, arrays, protocol):
    content = {
        "v_template": FakeCh(arrays["v_template"]),
        "shapedirs": FakeCh(arrays["shapedirs"]),
        "posedirs": np.zeros((arrays["v_template"].shape[0], 3, 207)),
        "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"].astype(np.float64)),
        "weights": FakeCh(arrays["weights"]),
        "f": arrays["f"].astype(np.uint32),
        "kintree_table": arrays["kintree_table"].astype(np.int64),
        "bs_style": "lbs",
        "landmark_vertices": arrays["landmark_vertices"],
    }
    path.write_bytes(pickle.dumps(content, protocol=protocol))


@pytest.mark.parametrize("protocol", [0, 2])
def test_reads_a_chumpy_style_pickle_without_chumpy(tmp_path, standin, standin_arrays, chumpy_module, protocol):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    write_chumpy_pickle(path, standin_arrays, protocol)
    assert b"chumpy.ch" in path.read_bytes()
    sys.modules.pop("chumpy.ch"), sys.modules.pop("chumpy")  # the loader must not need chumpy
    model = load_body_model(tmp_path)  # a folder holding SMPL_NEUTRAL.pkl
    pose = np.random.default_rng(0).normal(scale=0.3, size=72)
    np.testing.assert_allclose(pose_body(model, pose), pose_body(standin, pose), atol=1e-5)
    assert "chumpy" not in sys.modules


def test_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": Payload()}))
    with pytest.raises(ModelFileError, match="refusing to load .*system"):
        load_body_model(path)
    assert not marker.exists()


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ModelFileError, match=r"nothere\.npz: no such file.*stand-in"):
        load_body_model(tmp_path / "nothere.npz")
    with pytest.raises(ModelFileError, match="neither SMPL_FEMALE.pkl nor model.npz"):
        load_body_model(tmp_path, gender="female")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda a: a.pop("shapedirs"), "missing 'shapedirs'"),
        (lambda a: a.update(weights=a["weights"][:, :23]), r"'weights' has shape \(13348, 23\)"),
        (lambda a: a["v_template"].__setitem__((5, 1), np.nan), "'v_template' contains NaN"),
        (lambda a: a.update(f=a["f"] + 100000), "'f' indexes vertices outside"),
        (lambda a: a.pop("landmark_vertices"), "needs 'landmark_vertices'"),
    ],
)
def test_broken_npz_is_named(tmp_path, standin_arrays, damage, message):
    arrays = {k: v.copy() for k, v in standin_arrays.items()}
    damage(arrays)
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=message) as info:
        load_body_model(path)
    assert str(path) in str(info.value)


def test_corrupt_and_pickled_npz(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ModelFileError, match="corrupt.npz: not a readable"):
        load_body_model(corrupt)
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, v_template=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="objects.npz: not a readable .npz of plain arrays"):
        load_body_model(pickled)


def test_unknown_extension(tmp_path):
    path = tmp_path / "model.obj"
    path.write_text("v 0 0 0")
    with pytest.raises(ModelFileError, match="expected a SMPL .pkl"):
        load_body_model(path)
