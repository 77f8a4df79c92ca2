"""Reading the course's files: one frame's npz and its JPEG, checked.

This is the file boundary: npz files use the course's parameter names (``root_orient``,
``pose_body``, ``pose_hand``, ``betas``, ``root_loc``); :func:`read_labels` hands them on in
smplx's names, which is all the rest of hmrlib uses.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from hmrlib.body import course_to_smplx
from hmrlib.data.h36m import NPZ_KEYS
from hmrlib.errors import HmrlibError


class BadSampleError(HmrlibError, ValueError):
    """A frame whose npz or image is missing, unreadable or inconsistent; names the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem


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
        kind = {
            "L": "greyscale",
            "LA": "greyscale with alpha",
            "RGBA": "RGBA",
            "I;16": "16-bit",
            "I": "32-bit integer",
            "P": "palette",
            "CMYK": "CMYK",
        }.get(mode, mode)
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


def read_labels(path, with_pose: bool = True) -> dict:
    """One frame's labels in smplx's names — global_orient (3), body_pose (69), betas (10),
    transl (3) — and its box, center_img (2) and scale_img (1). ``with_pose=False`` reads only
    transl and the box (all a course test file is read for)."""
    course = read_params(path, tuple(NPZ_KEYS) if with_pose else BOX_KEYS)
    box = {"center_img": course["center_img"], "scale_img": course["scale_img"]}
    if not with_pose:
        return {"transl": course["root_loc"], **box}
    return {**course_to_smplx(course), **box}
