"""A torch Dataset over the course's Human3.6M layout (the real course data or SynthH36M).

Each item is a dict:
  image (3, S, S) float32 in [0, 1] — the person's box, zero-padded, resized to S = image_size
  global_orient (3), body_pose (69), betas (10), transl (3) — smplx names; transl is root_loc
  center_img (2), scale_img () — the box; id — 'S9/Walking.54138969/12.npz' (submission id)
  action — the H36M action without its repetition number; vertices (V, 3), joints (24, 3) when
  ``with_vertices`` (camera frame, metres, from the body layer).

Bad input is never passed silently: with ``on_error='raise'`` (default) the first bad file
raises :class:`BadSampleError` naming it; with ``'skip'`` bad samples are left out and listed in
``dataset.skipped`` (and in a CSV via :meth:`write_skip_report`).
"""
import csv
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hmrlib.body import course_to_smplx
from hmrlib.data.crop import box_fraction_inside, box_from_params, crop_square
from hmrlib.data.h36m import BOX_PIXELS_PER_SCALE, NPZ_KEYS, image_path, params_path, parse_sequence

PARAM_KEYS = ("betas", "root_loc", "root_orient", "pose_body", "pose_hand")
CACHE_VERSION = 1


class BadSampleError(ValueError):
    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem


def action_name(sequence: str) -> str:
    """'Walking 1.54138969' -> 'Walking'."""
    return parse_sequence(sequence)[0].rstrip(" 0123456789")


BOX_KEYS = ("root_loc", "center_img", "scale_img")  # all a course test file is read for


def read_params(path, keys=tuple(NPZ_KEYS)) -> dict:
    """The npz of one frame, checked: each of ``keys`` present, right size, finite."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            values = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise BadSampleError(path, "missing parameter file") from None
    except Exception as err:  # corrupt zip, pickled objects, truncated file
        raise BadSampleError(path, f"unreadable npz ({type(err).__name__}: {err})") from None
    for key in keys:
        size = NPZ_KEYS[key]
        if key not in values:
            raise BadSampleError(path, f"missing key '{key}'")
        value = np.asarray(values[key], dtype=np.float64).reshape(-1)
        if value.size != size:
            raise BadSampleError(path, f"'{key}' has {value.size} values, expected {size}")
        if not np.isfinite(value).all():
            raise BadSampleError(path, f"'{key}' contains NaN or inf")
        values[key] = value
    if values["scale_img"][0] <= 0:
        raise BadSampleError(path, f"scale_img must be positive, got {values['scale_img'][0]}")
    return values


def check_image_header(path) -> tuple[int, int]:
    """(width, height) of an 8-bit RGB image file, else BadSampleError saying what it is."""
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except FileNotFoundError:
        raise BadSampleError(path, "missing image") from None
    except Exception as err:
        raise BadSampleError(path, f"unreadable image ({type(err).__name__}: {err})") from None
    if mode != "RGB":
        kind = {"L": "greyscale", "LA": "greyscale with alpha", "RGBA": "RGBA", "I;16": "16-bit", "I": "32-bit integer",
                "P": "palette", "CMYK": "CMYK"}.get(mode, mode)
        raise BadSampleError(path, f"{kind} image; expected 8-bit RGB")
    return size


def load_image(path) -> np.ndarray:
    """(H, W, 3) uint8, fully decoded (truncated or corrupt files raise BadSampleError)."""
    check_image_header(path)
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image)
    except Exception as err:
        raise BadSampleError(path, f"corrupt image data ({type(err).__name__}: {err})") from None


class H36MDataset(torch.utils.data.Dataset):
    def __init__(self, root, subjects=None, actions=None, cameras=None, image_size: int = 224,
                 with_vertices: bool = False, body_model=None, on_error: str = "raise",
                 max_box_outside: float = 0.5, cache_dir=None, progress: bool = True, labels: bool = True):
        """max_box_outside: the largest share of the box's area that may lie outside the image
        (that part is zero-padded); boxes further out are bad input. labels=False reads only
        root_loc and the box (the course's test files), and items carry no SMPL labels."""
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.root, self.image_size, self.on_error, self.has_labels = Path(root), image_size, on_error, labels
        self.keys_read = tuple(NPZ_KEYS) if labels else BOX_KEYS
        self.max_box_outside, self.skipped = max_box_outside, []
        params_root = self.root / "H36M_data_st"
        if not params_root.is_dir():
            raise FileNotFoundError(f"{params_root} does not exist: expected the course layout <root>/H36M_data_st/<Subj>/<Action>.<cam>/<frame>.npz")
        keys = []
        for subject_dir in sorted(p for p in params_root.iterdir() if p.is_dir()):
            if subjects is not None and subject_dir.name not in subjects:
                continue
            for sequence_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
                action, camera = parse_sequence(sequence_dir.name)
                if (actions is not None and action_name(sequence_dir.name) not in actions) or (cameras is not None and camera not in cameras):
                    continue
                frames = sorted(int(p.stem) for p in sequence_dir.glob("*.npz") if p.stem.isdigit())
                keys += [(subject_dir.name, sequence_dir.name, f) for f in frames]
        if not keys:
            raise FileNotFoundError(f"no frames under {params_root} match subjects={subjects} actions={actions} cameras={cameras}")
        index = self._load_or_build_index(keys, Path(cache_dir) if cache_dir is not None else None)
        self.keys, self.params = index["keys"], index["params"]
        self.body_model = None
        if with_vertices:
            from hmrlib.body import load_body_model

            self.body_model = body_model if body_model is not None else load_body_model()
        self.crops = self._load_or_build_cache(Path(cache_dir), progress) if cache_dir is not None else None
        if self.skipped:
            warnings.warn(f"{len(self.skipped)} bad samples under {self.root} were skipped; see dataset.skipped or write_skip_report()")

    def _load_or_build_index(self, keys, cache_dir: Path | None) -> dict:
        """Validated keys and stacked parameters; with a cache folder, kept there and reused
        while no file has changed size or modification time."""
        if cache_dir is not None:
            stamps = []
            for key in keys:
                for path in (params_path(self.root, *key), image_path(self.root, key[0], key[1], key[2])):
                    try:
                        stat = path.stat()
                        stamps.append((stat.st_size, stat.st_mtime_ns))
                    except FileNotFoundError:
                        stamps.append(None)
            text = json.dumps([CACHE_VERSION, str(self.root.resolve()), keys, stamps, self.keys_read, self.max_box_outside, self.on_error])
            path = cache_dir / f"index_{hashlib.sha1(text.encode()).hexdigest()[:16]}.npz"
            if path.exists():
                with np.load(path, allow_pickle=False) as saved:
                    meta = json.loads(str(saved["meta"]))
                    params = {k: saved[k] for k in self.keys_read}
                for file, problem in meta["skipped"]:
                    self._bad(BadSampleError(file, problem))
                return {"keys": [tuple(k) for k in meta["keys"]], "params": params}
        valid, rows = [], []
        for key in keys:
            try:
                rows.append(self._check(key, decode=self.on_error == "skip" and cache_dir is None))
                valid.append(key)
            except BadSampleError as err:
                self._bad(err)
        if not valid:
            raise BadSampleError(self.root / "H36M_data_st", f"all {len(keys)} frames are bad: {self.skipped[:3]} ...")
        params = {k: np.stack([r[k] for r in rows]).astype(np.float32) for k in self.keys_read}
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.savez(path.with_suffix(".tmp.npz"), meta=np.array(json.dumps({"keys": valid, "skipped": self.skipped})), **params)
            os.replace(path.with_suffix(".tmp.npz"), path)
        return {"keys": valid, "params": params}

    def _bad(self, err: BadSampleError):
        if self.on_error == "raise":
            raise err
        self.skipped.append((str(err.path), err.problem))

    def _check(self, key, decode: bool) -> dict:
        subject, sequence, frame = key
        params = read_params(params_path(self.root, *key), self.keys_read)
        path = image_path(self.root, subject, sequence, frame)
        width, height = check_image_header(path)
        center, side = box_from_params(params["center_img"], params["scale_img"][0], BOX_PIXELS_PER_SCALE)
        inside = box_fraction_inside(center, side, width, height)
        if inside <= 0:
            raise BadSampleError(params_path(self.root, *key), f"box (centre {params['center_img'].round(1).tolist()}, side {side:.0f}) lies wholly outside the {width}x{height} image")
        if 1 - inside > self.max_box_outside:
            raise BadSampleError(params_path(self.root, *key), f"{100 * (1 - inside):.0f}% of the box lies outside the {width}x{height} image (max_box_outside={self.max_box_outside})")
        if decode:
            load_image(path)
        return params

    def __len__(self):
        return len(self.keys)

    def sample_id(self, index: int) -> str:
        subject, sequence, frame = self.keys[index]
        return f"{subject}/{sequence}/{frame}.npz"

    def box(self, index: int) -> tuple[np.ndarray, float]:
        """(centre (2,), side) of sample ``index``'s square box, in pixels."""
        return box_from_params(self.params["center_img"][index], self.params["scale_img"][index, 0], BOX_PIXELS_PER_SCALE)

    def labels(self, indices) -> dict:
        """Course labels (root_orient, pose_body, pose_hand, betas, root_loc) of an index or an
        index array, as tensors with a batch dimension."""
        indices = np.atleast_1d(indices)
        return {k: torch.as_tensor(self.params[k][indices]) for k in PARAM_KEYS}

    def poses(self, indices=slice(None)) -> np.ndarray:
        """Full poses (N, 72): root_orient ‖ pose_body ‖ pose_hand."""
        return np.concatenate([self.params[k][indices] for k in ("root_orient", "pose_body", "pose_hand")], 1)

    def crop(self, index: int) -> np.ndarray:
        """(S, S, 3) uint8 crop of sample ``index``."""
        if self.crops is not None:
            return np.array(self.crops[index])  # a writable copy of the memory-mapped row
        subject, sequence, frame = self.keys[index]
        image = load_image(image_path(self.root, subject, sequence, frame))
        return crop_square(image, *self.box(index), self.image_size)

    def __getitem__(self, index: int) -> dict:
        item = {"transl": torch.from_numpy(self.params["root_loc"][index])}
        if self.has_labels:
            course = {k: torch.from_numpy(self.params[k][index]) for k in PARAM_KEYS}
            item.update(course_to_smplx(course))
        item.update(
            image=torch.from_numpy(self.crop(index)).permute(2, 0, 1).float().div_(255),  # (3, S, S)
            center_img=torch.from_numpy(self.params["center_img"][index]),
            scale_img=torch.from_numpy(self.params["scale_img"][index]).squeeze(0),
            id=self.sample_id(index), action=action_name(self.keys[index][1]),
        )
        if self.body_model is not None and self.has_labels:
            with torch.no_grad():
                out = self.body_model(**{k: v[None] for k, v in course_to_smplx(course).items()})
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

    # -- the crop cache -------------------------------------------------------------------
    def _fingerprint(self) -> str:
        text = json.dumps([CACHE_VERSION, str(self.root.resolve()), self.image_size, self.keys, self.params["center_img"].tolist(), self.params["scale_img"].tolist()])
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def _load_or_build_cache(self, cache_dir: Path, progress: bool):
        """uint8 crops of every sample in one memory-mapped file, built once per (data, size)."""
        from tqdm import tqdm

        name = cache_dir / f"crops_{self.image_size}_{self._fingerprint()}"
        data_path, meta_path = name.with_suffix(".u8"), name.with_suffix(".json")
        shape = (len(self), self.image_size, self.image_size, 3)
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            for path, problem in meta["skipped"]:
                self._bad(BadSampleError(path, problem))
            self._drop(meta["bad_keys"])
            return np.memmap(data_path, dtype=np.uint8, mode="r", shape=(len(self), *shape[1:]))
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = data_path.with_suffix(".partial")
        crops = np.memmap(partial, dtype=np.uint8, mode="w+", shape=shape)
        loader = torch.utils.data.DataLoader(_CropJob(self), batch_size=32, num_workers=min(4, torch.get_num_threads()), collate_fn=list)
        bad = []
        with tqdm(total=len(self), desc=f"caching {self.image_size}px crops", unit="img", disable=not progress) as bar:
            for batch in loader:
                for index, crop, error in batch:
                    if error is None:
                        crops[index] = crop
                    else:
                        self._bad(BadSampleError(*error))
                        bad.append(index)
                bar.update(len(batch))
        crops.flush()
        keep = np.setdiff1d(np.arange(len(self)), bad)
        if bad:  # rewrite without the bad rows so indices stay dense
            dense = np.memmap(data_path, dtype=np.uint8, mode="w+", shape=(len(keep), *shape[1:]))
            dense[:] = crops[keep]
            dense.flush()
            del crops
            partial.unlink()
        else:
            del crops
            partial.rename(data_path)
        bad_keys = [self.keys[i] for i in bad]
        skipped = self.skipped[-len(bad):] if bad else []
        self._drop(bad_keys)
        meta_path.write_text(json.dumps({"keys": len(keep), "bad_keys": bad_keys, "skipped": skipped}))
        return np.memmap(data_path, dtype=np.uint8, mode="r", shape=(len(keep), *shape[1:]))

    def _drop(self, bad_keys):
        bad = set(map(tuple, bad_keys))
        keep = [i for i, k in enumerate(self.keys) if k not in bad]
        self.keys = [self.keys[i] for i in keep]
        self.params = {k: v[keep] for k, v in self.params.items()}


class _CropJob(torch.utils.data.Dataset):
    """Decodes and crops one sample for the cache build, returning errors instead of raising."""

    def __init__(self, dataset: H36MDataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset.keys)

    def __getitem__(self, index):
        subject, sequence, frame = self.dataset.keys[index]
        path = image_path(self.dataset.root, subject, sequence, frame)
        try:
            image = load_image(path)
        except BadSampleError as err:
            return index, None, (str(err.path), err.problem)
        return index, crop_square(image, *self.dataset.box(index), self.dataset.image_size), None
