"""One entry point for every SMPL-format body model: official .pkl, AMASS/course .npz, stand-in.

Letters: B batch, V vertices (6890 for SMPL, 13348 for the stand-in), J = 24 joints.
"""

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from torch import nn

from hmrlib.body.model_files import (
    ModelFileError,
    read_smpl_npz,
    read_smpl_pkl,
    validate_model_arrays,
)
from hmrlib.body.skinning import skin
from hmrlib.constants import REPO_ROOT
from hmrlib.skeleton import NUM_JOINTS

STANDIN_NAME = "standin"  # HMRLIB_BODY_MODEL=standin chooses the stand-in explicitly
STANDIN_PATH = REPO_ROOT / "data" / "body_models" / "standin" / "standin_smpl.npz"
SMPL_NUM_VERTICES = 6890
# smplx selects extra keypoints (nose, eyes, ears, toes, heels, finger tips) by vertex index.
LANDMARK_NAMES = (
    "nose",
    "reye",
    "leye",
    "rear",
    "lear",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
    "lthumb",
    "lindex",
    "lmiddle",
    "lring",
    "lpinky",
    "rthumb",
    "rindex",
    "rmiddle",
    "rring",
    "rpinky",
)


@dataclass
class BodyOutput:
    vertices: torch.Tensor  # (B, V, 3) metres
    joints: torch.Tensor  # (B, 24, 3) the SMPL joints, in SMPL order


class BodyModel(nn.Module):
    """A smplx SMPL layer with no parameters of its own: every call passes all inputs.

    ``forward(global_orient (B,3), body_pose (B,69), betas (B,10), transl (B,3))`` returns
    :class:`BodyOutput` on the model's device, wherever the inputs are. Inputs are axis-angle;
    the batch size is free.
    """

    def __init__(self, smpl: smplx.SMPL, source: str, is_standin: bool, landmark_vertices: dict | None = None):
        super().__init__()
        self.smpl = smpl
        # surface points by name (nose, eyes, ears, heels, toes): the model file's, else SMPL's own
        self.landmark_vertices = landmark_vertices or {
            name: smplx.vertex_ids.vertex_ids["smplh"][name] for name in LANDMARK_NAMES
        }
        self.parents = tuple(int(p) for p in smpl.parents.tolist())  # read once: see hmrlib.body.skinning
        self.source = source
        self.is_standin = is_standin

    @property
    def faces(self) -> np.ndarray:  # (F, 3) int64
        return self.smpl.faces

    @property
    def num_vertices(self) -> int:
        return self.smpl.get_num_verts()

    @property
    def num_betas(self) -> int:
        return self.smpl.num_betas

    def forward(self, global_orient, body_pose, betas, transl=None) -> BodyOutput:
        batch = global_orient.shape[0]
        for name, value, width in (
            ("global_orient", global_orient, 3),
            ("body_pose", body_pose, 3 * (NUM_JOINTS - 1)),
            ("betas", betas, self.num_betas),
        ):
            if value.shape != (batch, width):
                raise ValueError(f"{name} must have shape ({batch}, {width}), got {tuple(value.shape)}")
        device = self.smpl.v_template.device  # inputs from anywhere (a dataset's CPU labels on a GPU)
        global_orient, body_pose, betas = global_orient.to(device), body_pose.to(device), betas.to(device)
        transl = global_orient.new_zeros(batch, 3) if transl is None else transl.to(device)
        pose = torch.cat([global_orient, body_pose], dim=1)
        vertices, joints = skin(self.smpl, pose, betas, self.parents)  # smplx's lbs, without host reads
        offset = transl.unsqueeze(1)
        return BodyOutput(vertices=vertices + offset, joints=joints[:, :NUM_JOINTS] + offset)

    def mesh(self, pose: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor | None = None) -> BodyOutput:
        """The mesh of full poses: pose (B, 72) axis-angle (global orientation, then the 23 body
        joints), betas (B, num_betas), transl (B, 3) or None. The one way from a predicted or
        stored 72-value pose to vertices."""
        return self(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=betas, transl=transl)

    def extra_repr(self) -> str:
        kind = "stand-in" if self.is_standin else "SMPL"
        return f"{kind} from {self.source}, vertices={self.num_vertices}, betas={self.num_betas}"


def _resolve(path, gender: str) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        for name in (f"SMPL_{gender.upper()}.pkl", f"SMPL_{gender.upper()}.npz", "model.npz"):
            if (path / name).is_file():
                return path / name
        raise ModelFileError(path, f"folder holds neither SMPL_{gender.upper()}.pkl nor model.npz")
    if not path.exists():
        raise ModelFileError(path, "no such file")
    return path


def load_body_model(path=None, gender: str = "neutral", num_betas: int = 10, device=None) -> BodyModel:
    """A :class:`BodyModel` from a SMPL ``.pkl``, a ``model.npz``, a folder holding either,
    or — with no path and no ``HMRLIB_BODY_MODEL`` in the environment, or with ``"standin"`` —
    hmrlib's stand-in."""
    path = path or os.environ.get("HMRLIB_BODY_MODEL")
    path = STANDIN_PATH if path in (None, STANDIN_NAME) else _resolve(path, gender)
    if path.suffix == ".pkl":
        arrays = read_smpl_pkl(path)
    elif path.suffix == ".npz":
        arrays = read_smpl_npz(path)
    else:
        raise ModelFileError(path, "expected a SMPL .pkl or an AMASS-style .npz")
    struct = validate_model_arrays(path, arrays, num_betas)
    vertex_ids = _landmarks(path, arrays, struct.v_template.shape[0])
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta models
        smpl = smplx.SMPL(
            model_path=str(path),
            data_struct=struct,
            num_betas=num_betas,
            vertex_ids=vertex_ids,
            create_betas=False,
            create_global_orient=False,
            create_body_pose=False,
            create_transl=False,
        )
    model = BodyModel(smpl, str(path), bool(arrays.get("is_standin", False)), vertex_ids)
    return model.to(device) if device is not None else model


def _landmarks(path, arrays: dict, num_vertices: int) -> dict | None:
    if "landmark_vertices" in arrays:
        indices = np.asarray(arrays["landmark_vertices"], dtype=np.int64)
        if indices.shape != (len(LANDMARK_NAMES),) or indices.min() < 0 or indices.max() >= num_vertices:
            raise ModelFileError(path, f"'landmark_vertices' must be {len(LANDMARK_NAMES)} vertex indices")
        return dict(zip(LANDMARK_NAMES, indices.tolist()))
    if num_vertices == SMPL_NUM_VERTICES:
        return None  # smplx's own SMPL landmarks
    raise ModelFileError(path, f"a {num_vertices}-vertex model needs 'landmark_vertices' ({', '.join(LANDMARK_NAMES)})")
