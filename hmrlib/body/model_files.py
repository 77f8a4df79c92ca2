"""Reading SMPL-format model files without trusting them.

Two formats hold the same arrays:
- the official ``SMPL_{NEUTRAL,MALE,FEMALE}.pkl`` (Python-2 pickles of chumpy objects and a
  scipy sparse regressor), read by a restricted unpickler that builds plain numpy arrays and
  never imports chumpy or runs code from the file;
- an AMASS-style ``model.npz`` (the course's file, and hmrlib's stand-in), read with
  ``allow_pickle=False``.

Both give a :class:`smplx.utils.Struct` with ``v_template (V,3)``, ``shapedirs (V,3,S)``,
``posedirs (V,3,207)``, ``J_regressor (24,V)``, ``weights (V,24)``, ``f (F,3)`` and
``kintree_table (2,24)``.
"""

import codecs
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
from numpy._core import multiarray as _multiarray
from smplx.utils import Struct

from hmrlib.errors import HmrlibError
from hmrlib.skeleton import NUM_JOINTS, PARENTS

HOW_TO_GET_SMPL = (
    "Official SMPL files need a licence and a download from https://smpl.is.tue.mpg.de "
    "(SMPL_NEUTRAL/MALE/FEMALE.pkl) or the course's model.npz; without them, call "
    "load_body_model() with no path to use hmrlib's free stand-in body model."
)
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9  # 207 pose-corrective blend shapes in SMPL


class ModelFileError(HmrlibError, ValueError):
    """A body-model file is missing, unreadable or not in SMPL format."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}. {HOW_TO_GET_SMPL}")
        self.path = Path(path)


class _ChumpyArray:
    """What a pickled ``chumpy.Ch`` becomes: its value array, kept in ``x``."""

    def __setstate__(self, state):
        self.x = np.asarray(state["x"]) if isinstance(state, dict) and "x" in state else None


class _SparseMatrix:
    """What a pickled scipy sparse matrix becomes: its CSC/CSR arrays, densified on demand."""

    def __setstate__(self, state):
        self.state = state

    def to_dense(self) -> np.ndarray:
        state = self.state
        shape = tuple(state.get("_shape") or state.get("shape"))
        data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
        dense = np.zeros(shape, dtype=np.float64)
        compressed_rows = state.get("format", "csc") == "csr"
        for major in range(len(indptr) - 1):
            lo, hi = indptr[major], indptr[major + 1]
            if compressed_rows:
                dense[major, indices[lo:hi]] = data[lo:hi]
            else:
                dense[indices[lo:hi], major] = data[lo:hi]
        return dense


def _reconstruct_object(cls, base, state):
    # Python 2's copy_reg._reconstructor, limited to the stand-in classes above.
    return cls.__new__(cls)


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copy_reg", "_reconstructor"): _reconstruct_object,
    ("copyreg", "_reconstructor"): _reconstruct_object,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles from Python 3 store bytes
    ("chumpy.ch", "Ch"): _ChumpyArray,
    ("chumpy.reordering", "Select"): _ChumpyArray,
    ("scipy.sparse.csc", "csc_matrix"): _SparseMatrix,
    ("scipy.sparse._csc", "csc_matrix"): _SparseMatrix,
    ("scipy.sparse.csr", "csr_matrix"): _SparseMatrix,
    ("scipy.sparse._csr", "csr_matrix"): _SparseMatrix,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a SMPL model file") from None


def _plain(value):
    if isinstance(value, _ChumpyArray):
        return value.x
    if isinstance(value, _SparseMatrix):
        return value.to_dense()
    return value


def read_smpl_pkl(path) -> dict:
    """Arrays of an official SMPL ``.pkl`` (chumpy objects turned into numpy)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        content = _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError) as err:
        raise ModelFileError(path, f"not a readable SMPL pickle ({err})") from None
    if not isinstance(content, dict):
        raise ModelFileError(path, f"expected a dict of arrays, found {type(content).__name__}")
    return {key: _plain(value) for key, value in content.items()}


def read_smpl_npz(path) -> dict:
    """Arrays of an AMASS-style ``model.npz``, read without unpickling anything."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except ValueError as err:  # object arrays (pickles) and corrupt archives
        raise ModelFileError(path, f"not a readable .npz of plain arrays ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(path, f"not a readable .npz ({err})") from None


def _check(path, arrays: dict, key: str, shape: tuple) -> np.ndarray:
    if key not in arrays or arrays[key] is None:
        raise ModelFileError(path, f"missing '{key}' (expected shape {shape})")
    value = np.asarray(arrays[key])
    if value.ndim != len(shape) or any(e is not None and e != s for e, s in zip(shape, value.shape)):
        raise ModelFileError(path, f"'{key}' has shape {value.shape}, expected {shape}")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ModelFileError(path, f"'{key}' contains NaN or inf")
    return value


def validate_model_arrays(path, arrays: dict, num_betas: int) -> Struct:
    """Check shapes and values, fill what SMPL derives, and return a smplx ``Struct``."""
    v_template = _check(path, arrays, "v_template", (None, 3)).astype(np.float32)
    num_vertices = v_template.shape[0]
    shapedirs = _check(path, arrays, "shapedirs", (num_vertices, 3, None))
    if shapedirs.shape[2] < num_betas:
        raise ModelFileError(path, f"'shapedirs' has {shapedirs.shape[2]} shape components, {num_betas} asked for")
    weights = _check(path, arrays, "weights", (num_vertices, NUM_JOINTS))
    faces = _check(path, arrays, "f", (None, 3)).astype(np.int64)
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise ModelFileError(path, f"'f' indexes vertices outside 0..{num_vertices - 1}")
    regressor = _check(path, arrays, "J_regressor", (NUM_JOINTS, num_vertices))
    if arrays.get("posedirs") is None:  # the stand-in has no pose correctives
        posedirs = np.zeros((num_vertices, 3, NUM_POSE_BASIS), dtype=np.float32)
    else:
        posedirs = _check(path, arrays, "posedirs", (num_vertices, 3, NUM_POSE_BASIS))
    if "kintree_table" in arrays:
        kintree = _check(path, arrays, "kintree_table", (2, NUM_JOINTS)).astype(np.int64)
        if tuple(kintree[0, 1:]) != PARENTS[1:]:
            raise ModelFileError(path, "'kintree_table' is not SMPL's 24-joint tree")
    else:
        kintree = np.stack([np.array(PARENTS), np.arange(NUM_JOINTS)])
    return Struct(
        v_template=v_template,
        shapedirs=shapedirs[:, :, :num_betas].astype(np.float32),
        posedirs=posedirs.astype(np.float32),
        J_regressor=regressor.astype(np.float32),
        weights=weights.astype(np.float32),
        f=faces,
        kintree_table=kintree,
    )
