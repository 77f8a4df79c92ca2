"""Predict a body mesh from your own images.

For each image: read it (JPEG/PNG; RGB, RGBA, greyscale, 16-bit; any size), crop the person's
box (given, or the whole image), run the generator, and write
  <name>.obj / <name>.ply     the mesh (trimesh)
  <name>.json                 parameters with smplx's names, and the camera used
  <name>_crop.png             the mesh over the network's input crop
  <name>_overlay.png          the mesh over the full image
  <name>_side.png             the mesh seen from its left side
A photo's camera is unknown, so the mesh is placed with an assumed focal length (1.15 x the
image's larger side, like Human3.6M's cameras) at the depth where its projection fills the box
as the training boxes did (box side = 1.2 x the body's projected extent).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from hmrlib.camera import Intrinsics, orbit_camera
from hmrlib.data.crop import BOX_MARGIN, crop_camera, crop_square
from hmrlib.errors import HmrlibError
from hmrlib.render import BODY_COLOUR, Renderer

FOCAL_PER_PIXEL = 1.15  # H36M: ~1145 px for 1000 px images


class ImageReadError(HmrlibError, ValueError):
    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def read_rgb(path) -> np.ndarray:
    """(H, W, 3) uint8 from any PIL-readable image: alpha composited on white, grey expanded,
    16-bit scaled to 8 bits."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                image = Image.fromarray((255 * array / max(array.max(), 1)).astype(np.uint8))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                white = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, image)
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(path, f"not a readable image ({type(err).__name__}: {err})") from None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'x,y,w,h' in pixels -> floats, checked."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--bbox must be x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--bbox width and height must be positive, got {text!r}")
    return x, y, w, h


@dataclass
class Prediction:
    image: np.ndarray  # (H, W, 3) uint8, the input
    crop: np.ndarray  # (S, S, 3) uint8
    box: tuple  # (centre (2,), side) in pixels
    pose: np.ndarray  # (72,)
    betas: np.ndarray  # (10,)
    transl: np.ndarray  # (3,) camera frame
    vertices: np.ndarray  # (V, 3) camera frame
    intrinsics: Intrinsics


@torch.no_grad()
def predict_image(generator, body, image: np.ndarray, bbox=None, image_size: int = 224) -> Prediction:
    """The mesh for one (H, W, 3) uint8 image; ``bbox`` (x, y, w, h) in pixels, else the whole image."""
    height, width = image.shape[:2]
    x, y, w, h = bbox if bbox is not None else (0, 0, width, height)
    centre, side = np.array([x + w / 2, y + h / 2]), float(max(w, h))
    crop = crop_square(image, centre, side, image_size)
    device = next(generator.parameters()).device
    out = generator(torch.as_tensor(crop, device=device).permute(2, 0, 1)[None].float() / 255)
    pose, betas = out.pose[0], out.betas[0]
    vertices = body.mesh(out.pose, out.betas).vertices[0].cpu().numpy()
    focal = FOCAL_PER_PIXEL * max(width, height)
    intrinsics = Intrinsics(focal, focal, width / 2, height / 2, width, height)
    # metres: the longest side of the mesh's 3D box, depth included, so that a body lying along
    # the camera's axis is placed far enough not to loom out of the box by perspective
    extent = np.ptp(vertices, axis=0).max()
    depth = focal * extent * BOX_MARGIN / side
    middle = 0.5 * (vertices.min(0) + vertices.max(0))
    transl = np.array(
        [(centre[0] - intrinsics.cx) * depth / focal, (centre[1] - intrinsics.cy) * depth / focal, depth]
    ) - middle * [1, 1, 0]
    return Prediction(
        image, crop, (centre, side), pose.cpu().numpy(), betas.cpu().numpy(), transl, vertices + transl, intrinsics
    )


def save_prediction(prediction: Prediction, faces: np.ndarray, out_dir, name: str) -> list[Path]:
    import trimesh

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mesh = trimesh.Trimesh(prediction.vertices, faces, process=False)
    written = [out_dir / f"{name}.obj", out_dir / f"{name}.ply"]
    mesh.export(written[0])
    mesh.export(written[1])
    k = prediction.intrinsics
    params = {
        "global_orient": prediction.pose[:3].tolist(),
        "body_pose": prediction.pose[3:].tolist(),
        "betas": prediction.betas.tolist(),
        "transl": prediction.transl.tolist(),
        "camera": {
            "fx": k.fx,
            "fy": k.fy,
            "cx": k.cx,
            "cy": k.cy,
            "width": k.width,
            "height": k.height,
            "note": "assumed: focal = 1.15 x the image's larger side",
        },
    }
    written.append(out_dir / f"{name}.json")
    written[-1].write_text(json.dumps(params, indent=1))
    renderer = Renderer()
    overlay, _ = renderer.render([(prediction.vertices, faces, BODY_COLOUR)], k, background=prediction.image, alpha=0.7)
    size = prediction.crop.shape[0]
    camera = crop_camera(k, *prediction.box, size)
    on_crop, _ = renderer.render(
        [(prediction.vertices, faces, BODY_COLOUR)], camera, background=prediction.crop, alpha=0.7
    )
    middle = 0.5 * (prediction.vertices.min(0) + prediction.vertices.max(0))
    side_camera = orbit_camera(middle, distance=3.0 * np.ptp(prediction.vertices, axis=0).max(), azimuth_deg=0.0)
    side_view, _ = renderer.render(
        [(_turn_to_side(prediction.vertices, middle), faces, BODY_COLOUR)], Intrinsics.from_fov(512, 512), side_camera
    )
    for suffix, picture in (("crop", on_crop), ("overlay", overlay), ("side", side_view)):
        written.append(out_dir / f"{name}_{suffix}.png")
        Image.fromarray(picture).save(written[-1])
    return written


def _turn_to_side(vertices: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """Camera-frame vertices (y down) turned so a y-up orbit camera sees the body's side: the
    camera's view axis becomes the world's x."""
    flip = np.array([[0, 0, -1.0], [0, -1.0, 0], [-1.0, 0, 0]])  # x_cam -> -z, y_cam -> -y, z_cam -> -x
    return (vertices - middle) @ flip.T + middle


def predict_files(generator, body, paths, out_dir, bbox=None, image_size: int = 224) -> tuple[list, list]:
    """Predict each image; a bad file is reported and skipped. Returns (written, [(path, problem)])."""
    written, failed = [], []
    for path in paths:
        try:
            prediction = predict_image(generator, body, read_rgb(path), bbox, image_size)
            written += save_prediction(prediction, body.faces, out_dir, Path(path).stem)
        except ImageReadError as err:
            failed.append((str(err.path), str(err).split(": ", 1)[1]))
    return written, failed
