"""A torch Dataset over the course's Human3.6M layout (the real course data or SynthH36M).

Each item is a dict:
  image (3, S, S) float32 in [0, 1] — the person's box, zero-padded, resized to S = image_size
  global_orient (3), body_pose (69), betas (10), transl (3) — smplx names; transl is root_loc
  center_img (2), scale_img () — the box; id — 'S9/Walking.54138969/12.npz' (submission id)
  action — the H36M action without its repetition number; vertices (V, 3), joints (24, 3) when
  ``with_vertices`` (camera frame, metres, from the body layer); camera (4) fx, fy, cx, cy and
  crop_box (4) left, top, width, height in pixels when ``with_camera`` (for 2D supervision).

Labels use smplx's names throughout (``labels()``, ``params``); the course's names appear only
where files are read (hmrlib.data.files) and written (the submission).

Bad input is never passed silently: with ``on_error='raise'`` (default) the first bad file
raises :class:`BadSampleError` naming it; with ``'skip'`` bad samples are left out and listed in
``dataset.skipped`` (and in a CSV via :meth:`write_skip_report`). The dataset does not change
after construction.
"""

import csv
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from hmrlib.camera import Intrinsics
from hmrlib.data.crop import (
    BOX_ROUNDINGS,
    box_fraction_inside,
    box_from_params,
    course_box,
    crop_square,
    pixel_box,
)
from hmrlib.data.crop_cache import CropCache
from hmrlib.data.files import BadSampleError, check_image_header, load_image, read_labels
from hmrlib.data.h36m import BOX_PIXELS_PER_SCALE, camera_intrinsics, image_path, params_path, parse_sequence
from hmrlib.errors import DataError, HmrlibWarning

COURSE_LAYOUT = "<root>/H36M_data_st/<Subj>/<Action>.<cam>/<frame>.npz"
LABEL_KEYS = ("global_orient", "body_pose", "betas", "transl")
BOX_PARAM_KEYS = ("center_img", "scale_img")
INDEX_VERSION = 2  # 2: parameters stored in smplx's names


def require_subjects(root, subjects, role: str):
    """Stop at once, naming them and the folder, when any of a role's subjects is missing."""
    folder = Path(root) / "H36M_data_st"
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist: expected the course layout {COURSE_LAYOUT}")
    present = sorted(p.name for p in folder.iterdir() if p.is_dir())
    missing = [s for s in subjects if s not in present]
    if missing:
        raise DataError(
            f"the {role} subjects {' '.join(missing)} are missing from {folder} "
            f"(it holds {' '.join(present) or 'none'})"
        )


def action_name(sequence: str) -> str:
    """'Walking 1.54138969' -> 'Walking'."""
    return parse_sequence(sequence)[0].rstrip(" 0123456789")


class H36MDataset(torch.utils.data.Dataset):
    def __init__(
        self,
        root,
        subjects=None,
        actions=None,
        cameras=None,
        image_size: int = 224,
        with_vertices: bool = False,
        body_model=None,
        on_error: str = "raise",
        max_box_outside: float = 0.5,
        cache_dir=None,
        progress: bool = True,
        labels: bool = True,
        box_rounding: str = "truncate",
        with_camera: bool = False,
    ):
        """max_box_outside: the largest share of the box's area that may lie outside the image
        (that part is zero-padded); boxes further out are bad input. labels=False reads only
        root_loc and the box (the course's test files), and items carry no SMPL labels."""
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if box_rounding not in BOX_ROUNDINGS:
            raise ValueError(f"box_rounding must be one of {BOX_ROUNDINGS}, got {box_rounding!r}")
        self.box_rounding = box_rounding  # 'truncate': cut as the course's code cuts (crop.course_box)
        self.root, self.image_size, self.on_error, self.has_labels = Path(root), image_size, on_error, labels
        self.param_keys = (LABEL_KEYS if labels else ("transl",)) + BOX_PARAM_KEYS
        self.max_box_outside, self.skipped = max_box_outside, []
        keys = self._scan(subjects, actions, cameras)
        keys, params = self._load_or_build_index(keys, Path(cache_dir) if cache_dir is not None else None)
        crops = None
        if cache_dir is not None:
            boxes = [
                self._snap(box_from_params(c, s[0], BOX_PIXELS_PER_SCALE))
                for c, s in zip(params["center_img"], params["scale_img"])
            ]
            crops = CropCache.open_or_build(cache_dir, self.root, keys, boxes, image_size, progress)
            if crops.bad:
                for _, path, problem in crops.bad:
                    self._bad(BadSampleError(path, problem))
                bad = {key for key, _, _ in crops.bad}
                keep = [i for i, key in enumerate(keys) if key not in bad]
                keys, params = [keys[i] for i in keep], {k: v[keep] for k, v in params.items()}
        self.keys, self.params, self.crops = keys, params, crops
        self.camera_params = self._camera_table() if with_camera else None
        self.body_model = None
        if with_vertices:
            from hmrlib.body import load_body_model

            self.body_model = body_model if body_model is not None else load_body_model()
        if self.skipped:
            warnings.warn(
                f"{len(self.skipped)} bad samples under {self.root} were skipped; "
                "see dataset.skipped or write_skip_report()",
                HmrlibWarning,
                stacklevel=2,
            )

    # -- construction -----------------------------------------------------------------------
    def _scan(self, subjects, actions, cameras) -> list:
        """(subject, sequence, frame) of every npz file under the root that the filters keep."""
        params_root = self.root / "H36M_data_st"
        if not params_root.is_dir():
            raise DataError(f"{params_root} does not exist: expected the course layout {COURSE_LAYOUT}")
        keys = []
        for subject_dir in sorted(p for p in params_root.iterdir() if p.is_dir()):
            if subjects is not None and subject_dir.name not in subjects:
                continue
            for sequence_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
                action, camera = parse_sequence(sequence_dir.name)
                if (actions is not None and action_name(sequence_dir.name) not in actions) or (
                    cameras is not None and camera not in cameras
                ):
                    continue
                frames = sorted(int(p.stem) for p in sequence_dir.glob("*.npz") if p.stem.isdigit())
                keys += [(subject_dir.name, sequence_dir.name, f) for f in frames]
        if not keys:
            raise DataError(
                f"no frames under {params_root} match subjects={subjects} actions={actions} cameras={cameras}"
            )
        return keys

    def _load_or_build_index(self, keys, cache_dir: Path | None) -> tuple[list, dict]:
        """Validated keys and stacked parameters; with a cache folder, kept there and reused
        while no file has changed size or modification time."""
        if cache_dir is not None:
            stamps = []
            for key in keys:
                for path in (params_path(self.root, *key), image_path(self.root, *key)):
                    try:
                        stat = path.stat()
                        stamps.append((stat.st_size, stat.st_mtime_ns))
                    except FileNotFoundError:
                        stamps.append(None)
            text = json.dumps(
                [
                    INDEX_VERSION,
                    str(self.root.resolve()),
                    keys,
                    stamps,
                    self.param_keys,
                    self.max_box_outside,
                    self.on_error,
                ]
            )
            path = cache_dir / f"index_{hashlib.sha1(text.encode()).hexdigest()[:16]}.npz"
            if path.exists():
                with np.load(path, allow_pickle=False) as saved:
                    meta = json.loads(str(saved["meta"]))
                    params = {k: saved[k] for k in self.param_keys}
                for file, problem in meta["skipped"]:
                    self._bad(BadSampleError(file, problem))
                return [tuple(k) for k in meta["keys"]], params
        valid, rows = [], []
        for key in keys:
            try:
                rows.append(self._check(key, decode=self.on_error == "skip" and cache_dir is None))
                valid.append(key)
            except BadSampleError as err:
                self._bad(err)
        if not valid:
            raise BadSampleError(self.root / "H36M_data_st", f"all {len(keys)} frames are bad: {self.skipped[:3]} ...")
        params = {k: np.stack([r[k] for r in rows]).astype(np.float32) for k in self.param_keys}
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.savez(
                path.with_suffix(".tmp.npz"),
                meta=np.array(json.dumps({"keys": valid, "skipped": self.skipped})),
                **params,
            )
            os.replace(path.with_suffix(".tmp.npz"), path)
        return valid, params

    def _camera_table(self) -> np.ndarray:
        """(N, 4) fx, fy, cx, cy of every frame's camera; a camera without known intrinsics stops
        here, naming it (2D supervision would otherwise project with the wrong camera)."""
        names = [parse_sequence(sequence)[1] for _, sequence, _ in self.keys]
        table = {}
        for name in sorted(set(names)):
            try:
                c = camera_intrinsics(self.root, name)
            except KeyError:
                raise DataError(
                    f"{self.root}: camera {name!r} has no known intrinsics, which 2D supervision "
                    "(loss.heatmaps, loss.reprojection) needs to project the labels' joints"
                ) from None
            table[name] = (c.fx, c.fy, c.cx, c.cy)
        return np.array([table[name] for name in names], dtype=np.float32)

    def _bad(self, err: BadSampleError):
        if self.on_error == "raise":
            raise err
        self.skipped.append((str(err.path), err.problem))

    def _check(self, key, decode: bool) -> dict:
        npz = params_path(self.root, *key)
        labels = read_labels(npz, with_pose=self.has_labels)
        path = image_path(self.root, *key)
        width, height = check_image_header(path)
        center, side = box_from_params(labels["center_img"], labels["scale_img"][0], BOX_PIXELS_PER_SCALE)
        inside = box_fraction_inside(center, side, width, height)
        if inside <= 0:
            raise BadSampleError(
                npz,
                f"box (centre {labels['center_img'].round(1).tolist()}, side {side:.0f}) "
                f"lies wholly outside the {width}x{height} image",
            )
        if 1 - inside > self.max_box_outside:
            raise BadSampleError(
                npz,
                f"{100 * (1 - inside):.0f}% of the box lies outside the {width}x{height} image "
                f"(max_box_outside={self.max_box_outside})",
            )
        if decode:
            load_image(path)
        return labels

    # -- access -------------------------------------------------------------------------------
    def __len__(self):
        return len(self.keys)

    def sample_id(self, index: int) -> str:
        subject, sequence, frame = self.keys[index]
        return f"{subject}/{sequence}/{frame}.npz"

    def box(self, index: int) -> tuple[np.ndarray, float]:
        """(centre (2,), side) of sample ``index``'s square box, in pixels."""
        return self._snap(
            box_from_params(self.params["center_img"][index], self.params["scale_img"][index, 0], BOX_PIXELS_PER_SCALE)
        )

    def _snap(self, box: tuple) -> tuple:
        return course_box(*box) if self.box_rounding == "truncate" else box

    def labels(self, indices) -> dict:
        """smplx labels (global_orient, body_pose, betas, transl) of an index or an index array,
        as tensors with a batch dimension: ``body(**dataset.labels(i))`` is the ground-truth mesh."""
        indices = np.atleast_1d(indices)
        return {k: torch.as_tensor(self.params[k][indices]) for k in LABEL_KEYS}

    def poses(self, indices=slice(None)) -> np.ndarray:
        """Full poses (N, 72): global_orient ‖ body_pose."""
        return np.concatenate([self.params["global_orient"][indices], self.params["body_pose"][indices]], 1)

    def image(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8: the whole frame of sample ``index``."""
        return load_image(image_path(self.root, *self.keys[index]))

    def intrinsics(self, index: int) -> Intrinsics:
        """The intrinsics of the camera that took sample ``index``."""
        return camera_intrinsics(self.root, parse_sequence(self.keys[index][1])[1])

    def crop(self, index: int) -> np.ndarray:
        """(S, S, 3) uint8 crop of sample ``index``."""
        if self.crops is not None:
            return self.crops[index]
        return crop_square(self.image(index), *self.box(index), self.image_size)

    def __getitem__(self, index: int) -> dict:
        item = {k: torch.from_numpy(self.params[k][index]) for k in LABEL_KEYS if k in self.params}
        item.update(
            image=torch.from_numpy(self.crop(index)).permute(2, 0, 1).float().div_(255),  # (3, S, S)
            center_img=torch.from_numpy(self.params["center_img"][index]),
            scale_img=torch.from_numpy(self.params["scale_img"][index]).squeeze(0),
            id=self.sample_id(index),
            action=action_name(self.keys[index][1]),
        )
        if self.camera_params is not None:
            left, top, width, height = pixel_box(*self.box(index))
            item.update(
                camera=torch.from_numpy(self.camera_params[index]),
                crop_box=torch.tensor([left, top, width, height], dtype=torch.float32),
            )
        if self.body_model is not None and self.has_labels:
            with torch.no_grad():
                out = self.body_model(**{k: item[k][None] for k in LABEL_KEYS})
            item.update(vertices=out.vertices[0], joints=out.joints[0])
        return item

    def write_skip_report(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "problem"])
            writer.writerows(self.skipped)
        return path
