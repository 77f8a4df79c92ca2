"""Cropping the person's box: pure functions on numpy images.

A box is (centre (2,), side) in pixels, as in the course's center_img / scale_img: square, or
(width, height) where it was cut as the course's own data code cuts it (:func:`course_box`, up to
a pixel from square). It is snapped to whole pixels once (:func:`pixel_box`), and both the crop
and its transform use that.
"""

import numpy as np
from PIL import Image

from hmrlib.camera import Intrinsics

BOX_MARGIN = 1.2  # SynthH36M's boxes: side = 1.2 x the larger side of the body's projected extent
BOX_ROUNDINGS = ("truncate", "round")
COURSE_CROP_SIZE = 224  # the course's network input, the `res` its crop() computes the corners at


def course_box(center, side: float, res: int = COURSE_CROP_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The box as the course skeleton's ``data/util.py::crop()`` (SPIN's) cuts it, with its own
    arithmetic: the crop's pixels [1, 1] and [res+1, res+1] taken back through the inverse of its
    affine transform, int() (towards zero), +1, then -1, give the top-left and bottom-right
    corners; the box is their difference, so its width and height may each be int(side) or one
    more, and differ from each other by a pixel. Returned as (centre (2,), (width, height)) that
    :func:`pixel_box` keeps as they are. (hmrlib's earlier int() of the corner and side gave a side
    one pixel shorter in 66 % of SynthH36M's frames.)"""
    center, h = np.asarray(center, dtype=np.float64), float(side)
    crop_from_image = np.array(
        [[res / h, 0.0, res * (-center[0] / h + 0.5)], [0.0, res / h, res * (-center[1] / h + 0.5)], [0.0, 0.0, 1.0]]
    )
    image_from_crop = np.linalg.inv(crop_from_image)

    def corner(pixel: int) -> np.ndarray:  # SPIN's transform(pt, ..., invert=1) - 1
        return (image_from_crop @ np.array([pixel - 1.0, pixel - 1.0, 1.0]))[:2].astype(int) + 1 - 1

    top_left, bottom_right = corner(1), corner(res + 1)
    sides = np.maximum(bottom_right - top_left, 1).astype(np.float64)
    return top_left + sides / 2, sides


def box_from_params(center_img, scale_img, pixels_per_scale: float) -> tuple[np.ndarray, float]:
    """The course's center_img (2,) and scale_img -> (centre (2,), side) in pixels."""
    return np.asarray(center_img, dtype=np.float64), float(scale_img) * pixels_per_scale


def pixel_box(center, side) -> tuple[int, int, int, int]:
    """(left, top, width, height) in whole pixels; ``side`` a number (square) or (width, height)."""
    sides = np.maximum(np.round(np.broadcast_to(np.asarray(side, dtype=np.float64), (2,))).astype(int), 1)
    left, top = np.round(np.asarray(center, dtype=np.float64) - sides / 2).astype(int)
    return int(left), int(top), int(sides[0]), int(sides[1])


def box_fraction_inside(center, side: float, width: int, height: int) -> float:
    """Share of the box's area that lies inside a width x height image."""
    sides = np.broadcast_to(np.asarray(side, dtype=np.float64), (2,))
    low, high = np.asarray(center) - sides / 2, np.asarray(center) + sides / 2
    overlap = np.clip(np.minimum(high, [width, height]) - np.maximum(low, 0), 0, None)
    return float(overlap.prod() / sides.prod())


def crop_square(image: np.ndarray, center, side: float, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: the box, zero-padded where it leaves the image,
    resized with antialiasing (a course box a pixel from square is stretched, as the course does)."""
    left, top, width, height = pixel_box(center, side)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, image.shape[1]), min(top + height, image.shape[0])
    if x1 > x0 and y1 > y0:
        canvas[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return np.array(Image.fromarray(canvas).resize((size, size), Image.BILINEAR, reducing_gap=2.0))  # writable


def crop_to_image(center, side: float, size: int) -> np.ndarray:
    """(3, 3) affine taking crop pixel coordinates to image pixel coordinates (invert for the
    other way). Pixel centres sit at integer coordinates in both."""
    left, top, width, height = pixel_box(center, side)
    sx, sy = width / size, height / size
    return np.array([[sx, 0, left + 0.5 * sx - 0.5], [0, sy, top + 0.5 * sy - 0.5], [0, 0, 1.0]])


def crop_camera(intrinsics: Intrinsics, center, side: float, size: int) -> Intrinsics:
    """The camera whose image is the (size, size) crop of ``intrinsics``' image that
    :func:`crop_square` cuts for the box (center, side): render with it to draw over the crop."""
    to_crop = np.linalg.inv(crop_to_image(center, side, size))
    sx, sy, (dx, dy) = to_crop[0, 0], to_crop[1, 1], to_crop[:2, 2]
    k = intrinsics
    return Intrinsics(k.fx * sx, k.fy * sy, k.cx * sx + dx, k.cy * sy + dy, size, size)
