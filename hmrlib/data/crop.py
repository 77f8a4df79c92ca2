"""Cropping the person's box: pure functions on numpy images.

A box is (centre (2,), side) in pixels, square, as in the course's center_img / scale_img. It is
snapped to whole pixels once (:func:`pixel_box`), and both the crop and its transform use that.
A dataset may first cut its boxes as the course's own data code does (:func:`course_box`).
"""

import numpy as np
from PIL import Image

from hmrlib.camera import Intrinsics

BOX_MARGIN = 1.2  # SynthH36M's boxes: side = 1.2 x the larger side of the body's projected extent
BOX_ROUNDINGS = ("truncate", "round")


def course_box(center, side: float) -> tuple[np.ndarray, float]:
    """The box as the course's data code cuts it: Python's int() (truncation towards zero) of the
    top-left corner and of the side; returned as (centre, side) that :func:`pixel_box` keeps as
    they are. (Rounding, hmrlib's earlier way, moves the corner by a pixel in 73 % of SynthH36M's
    frames and the side in 45 %.)"""
    center = np.asarray(center, dtype=np.float64)
    side_px = max(int(side), 1)
    left, top = int(center[0] - side / 2), int(center[1] - side / 2)
    return np.array([left + side_px / 2, top + side_px / 2]), float(side_px)


def box_from_params(center_img, scale_img, pixels_per_scale: float) -> tuple[np.ndarray, float]:
    """The course's center_img (2,) and scale_img -> (centre (2,), side) in pixels."""
    return np.asarray(center_img, dtype=np.float64), float(scale_img) * pixels_per_scale


def pixel_box(center, side: float) -> tuple[int, int, int]:
    """(left, top, side) in whole pixels."""
    side_px = max(int(round(side)), 1)
    left, top = np.round(np.asarray(center, dtype=np.float64) - side_px / 2).astype(int)
    return int(left), int(top), side_px


def box_fraction_inside(center, side: float, width: int, height: int) -> float:
    """Share of the box's area that lies inside a width x height image."""
    low, high = np.asarray(center) - side / 2, np.asarray(center) + side / 2
    overlap = np.clip(np.minimum(high, [width, height]) - np.maximum(low, 0), 0, None)
    return float(overlap.prod() / side**2)


def crop_square(image: np.ndarray, center, side: float, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: the square box, zero-padded where it leaves the
    image, resized with antialiasing (the box is square, so the aspect ratio is preserved)."""
    left, top, side_px = pixel_box(center, side)
    canvas = np.zeros((side_px, side_px, 3), dtype=np.uint8)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side_px, image.shape[1]), min(top + side_px, image.shape[0])
    if x1 > x0 and y1 > y0:
        canvas[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return np.array(Image.fromarray(canvas).resize((size, size), Image.BILINEAR, reducing_gap=2.0))  # writable


def crop_to_image(center, side: float, size: int) -> np.ndarray:
    """(3, 3) affine taking crop pixel coordinates to image pixel coordinates (invert for the
    other way). Pixel centres sit at integer coordinates in both."""
    left, top, side_px = pixel_box(center, side)
    scale = side_px / size
    return np.array([[scale, 0, left + 0.5 * scale - 0.5], [0, scale, top + 0.5 * scale - 0.5], [0, 0, 1.0]])


def crop_camera(intrinsics: Intrinsics, center, side: float, size: int) -> Intrinsics:
    """The camera whose image is the (size, size) crop of ``intrinsics``' image that
    :func:`crop_square` cuts for the box (center, side): render with it to draw over the crop."""
    to_crop = np.linalg.inv(crop_to_image(center, side, size))
    scale, (dx, dy) = to_crop[0, 0], to_crop[:2, 2]
    k = intrinsics
    return Intrinsics(k.fx * scale, k.fy * scale, k.cx * scale + dx, k.cy * scale + dy, size, size)
