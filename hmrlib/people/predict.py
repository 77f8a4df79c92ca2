"""Predict body meshes for your own images: find the people, one mesh each.

For each image (JPEG/PNG; RGB, RGBA, greyscale, 16-bit; any size) the people are found by
:mod:`hmrlib.people.detect` (or the box is given), largest first; each person's box is cropped,
the crops go through the generator in batches, and for person k of ``<name>`` it writes
  <name>_p<k>.obj / .ply / .glb     the mesh (trimesh; .glb opens in Blender and web viewers)
  <name>_p<k>.npz                   parameters with smplx's names (global_orient, body_pose, betas, transl)
  <name>_p<k>.json                  the same, the camera used, the box, the 24 joints projected
                                    into the image and the detector's 33 keypoints
  <name>_p<k>_crop.png / _side.png  the mesh over the network's input crop / seen from its left
and ``<name>_overlay.png``, every person's mesh over the photo. A photo's camera is unknown, so
each mesh is placed with an assumed focal length (1.15 x the image's larger side, like Human3.6M's
cameras) at the depth where its projection fills its box as the training boxes did (box side =
1.2 x the body's projected extent). Folders (every image inside, sorted) and videos
(:mod:`hmrlib.people.video`) are taken by :mod:`hmrlib.people.inputs`, which hands
their images and frames to this module's batched path.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from hmrlib.camera import Intrinsics, orbit_camera
from hmrlib.data.crop import BOX_MARGIN, crop_camera, crop_square
from hmrlib.errors import HmrlibError
from hmrlib.people.fit_people import fit_predictions
from hmrlib.render import BODY_COLOUR, Renderer

FOCAL_PER_PIXEL = 1.15  # H36M: ~1145 px for 1000 px images
MAX_MEGAPIXELS = 150.0  # a decoded RGB image of this size holds 450 MB
MIN_SIDE = 16  # pixels: a smaller image cannot show a person (BlazePose sees its input at 224 px)
MAX_ASPECT = 8.0  # a person lying down spans about 3:1 in their box; no person fits a longer strip
PERSON_COLOURS = [BODY_COLOUR, (0.95, 0.62, 0.35, 1.0), (0.55, 0.85, 0.55, 1.0), (0.85, 0.55, 0.85, 1.0)]


def one_line(error: BaseException, limit: int = 200) -> str:
    """An exception's message as one line of at most ``limit`` characters."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ImageReadError(HmrlibError, ValueError):
    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def read_rgb(path, max_megapixels: float = MAX_MEGAPIXELS) -> np.ndarray:
    """(H, W, 3) uint8 from any PIL-readable image, upright as its EXIF orientation tag says (a
    phone's portrait photo is stored sideways and tagged): alpha composited on white, grey
    expanded, 16-bit mapped from its range 0-65535 to 0-255 (rounded v / 257; not stretched by
    the image's own maximum, which would brighten a dark picture). An image of more than
    ``max_megapixels`` is refused from its header, before it is decoded, and so is one that cannot
    hold a person: a side under ``MIN_SIDE`` pixels, or longer than ``MAX_ASPECT`` times its other."""
    pil_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # ours instead of PIL's bomb check
    try:
        with Image.open(path) as image:
            megapixels = image.width * image.height / 1e6
            if megapixels > max_megapixels:
                raise ImageReadError(
                    path,
                    f"{image.width}x{image.height} = {megapixels:.0f} megapixels, over the limit of "
                    f"{max_megapixels:g} (raise it with --max-megapixels if the machine has the memory)",
                )
            problem = person_shape_problem(image.width, image.height)
            if problem:
                raise ImageReadError(path, problem)
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                top = 65535.0 if array.max() <= 65535 else array.max()  # 'I' may hold 32-bit values
                image = Image.fromarray(np.rint(255 * np.clip(array, 0, None) / top).astype(np.uint8))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                white = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, image)
            return np.asarray(image.convert("RGB"))
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageReadError(path, "a folder inside a folder (only the folder's own files are read)") from None
    except Exception as err:  # whatever the image library raises (decoders raise many kinds)
        raise ImageReadError(path, f"not a readable image ({type(err).__name__}: {one_line(err)})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pil_limit


def person_shape_problem(width: int, height: int) -> str | None:
    """Why an image of this size cannot hold a person, or None."""
    if min(width, height) < MIN_SIDE:
        return f"{width}x{height} pixels: too small to hold a person (at least {MIN_SIDE} pixels a side)"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"{width}x{height} pixels: an aspect no person fits (longer than {MAX_ASPECT:g}:1)"
    return None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'x,y,w,h' in pixels -> floats, checked."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--bbox must be x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--bbox must have a positive width and height, got {text!r}")
    return x, y, w, h


@dataclass
class Prediction:
    image: np.ndarray  # (H, W, 3) uint8, the input
    crop: np.ndarray  # (S, S, 3) uint8
    box: tuple  # (centre (2,), side) in pixels
    box_source: str  # 'detected', 'given' or 'whole image'
    pose: np.ndarray  # (72,)
    betas: np.ndarray  # (10,)
    transl: np.ndarray  # (3,) camera frame
    vertices: np.ndarray  # (V, 3) camera frame
    joints: np.ndarray  # (24, 3) camera frame
    intrinsics: Intrinsics
    keypoints: np.ndarray | None = None  # (33, 3) the detector's, pixels and visibility
    network: dict | None = None  # where the body was fitted: the network's own answer (smplx names, joints_2d)
    fit: dict | None = None  # where fitted: kept, the reprojection errors before and after, keypoints used

    @property
    def joints_2d(self) -> np.ndarray:
        """(24, 2) the predicted joints projected into the image, pixels."""
        return self.intrinsics.project(self.joints)


def assumed_camera(width: int, height: int) -> Intrinsics:
    focal = FOCAL_PER_PIXEL * max(width, height)
    return Intrinsics(focal, focal, width / 2, height / 2, width, height)


def placement(vertices: np.ndarray, box, intrinsics: Intrinsics) -> np.ndarray:
    """(3,) translation putting a root-relative mesh (V, 3) where its projection fills ``box``.
    The depth comes from the longest side of the mesh's 3D box, depth included, so that a body
    lying along the camera's axis is placed far enough not to loom out of the box by perspective."""
    centre, side = box
    extent = np.ptp(vertices, axis=0).max()
    depth = intrinsics.fx * extent * BOX_MARGIN / side
    middle = 0.5 * (vertices.min(0) + vertices.max(0))
    at_box = [(centre[0] - intrinsics.cx) * depth / intrinsics.fx, (centre[1] - intrinsics.cy) * depth / intrinsics.fy]
    return np.array([*at_box, depth]) - middle * [1, 1, 0]


@dataclass
class Job:
    """One person to predict: the image, its box and where the box came from."""

    image: np.ndarray
    box: tuple
    box_source: str
    keypoints: np.ndarray | None = None


@torch.no_grad()
def predict_jobs(generator, body, jobs: list[Job], image_size: int = 224, fitter=None) -> list[Prediction]:
    """One batch through the generator and the body model: a Prediction per job; with a
    :class:`~hmrlib.fitting.KeypointFitter`, each person with keypoints fitted to them."""
    if not jobs:
        return []
    crops = [crop_square(job.image, *job.box, image_size) for job in jobs]
    device = next(generator.parameters()).device
    images = torch.as_tensor(np.stack(crops), device=device).permute(0, 3, 1, 2).float() / 255  # (B, 3, S, S)
    out = generator(images)
    mesh = body.mesh(out.pose, out.betas)
    predictions = placed_predictions(jobs, crops, out.pose.cpu().numpy(), out.betas.cpu().numpy(), mesh)
    return fit_predictions(fitter, body, predictions) if fitter is not None else predictions


def placed_predictions(jobs: list[Job], crops: list, pose: np.ndarray, betas: np.ndarray, mesh) -> list[Prediction]:
    """A Prediction per job from its parameters (B, 72) / (B, 10) and their root-relative
    ``mesh``, each placed where its projection fills the job's box (:func:`placement`)."""
    predictions = []
    for k, job in enumerate(jobs):
        vertices, joints = mesh.vertices[k].cpu().numpy(), mesh.joints[k].cpu().numpy()
        intrinsics = assumed_camera(job.image.shape[1], job.image.shape[0])
        transl = placement(vertices, job.box, intrinsics)
        predictions.append(
            Prediction(
                image=job.image,
                crop=crops[k],
                box=job.box,
                box_source=job.box_source,
                pose=pose[k],
                betas=betas[k],
                transl=transl,
                vertices=vertices + transl,
                joints=joints + transl,
                intrinsics=intrinsics,
                keypoints=job.keypoints,
            )
        )
    return predictions


def whole_image_box(image: np.ndarray, bbox=None) -> tuple:
    """(centre, side) of a given (x, y, w, h) box, or of the whole image: square, the larger side."""
    height, width = image.shape[:2]
    x, y, w, h = bbox if bbox is not None else (0, 0, width, height)
    return np.array([x + w / 2, y + h / 2]), float(max(w, h))


def find_jobs(image: np.ndarray, detector=None, bbox=None) -> list[Job]:
    """The people to predict in one image: the given box, else the detector's people, else
    (nobody found, or no detector) the whole image."""
    if bbox is not None:
        return [Job(image, whole_image_box(image, bbox), "given")]
    people = detector(image) if detector is not None else []
    if not people:
        return [Job(image, whole_image_box(image), "whole image")]
    return [Job(image, person.box, "detected", person.keypoints) for person in people]


def predict_image(generator, body, image: np.ndarray, bbox=None, image_size: int = 224) -> Prediction:
    """The network's mesh for one (H, W, 3) uint8 image; ``bbox`` (x, y, w, h) in pixels, else the whole image."""
    return predict_jobs(generator, body, find_jobs(image, bbox=bbox), image_size)[0]


def save_prediction(prediction: Prediction, faces: np.ndarray, out_dir, name: str) -> list[Path]:
    """One person's files (module docstring) under ``out_dir``; their paths."""
    import trimesh

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mesh = trimesh.Trimesh(prediction.vertices, faces, process=False)
    written = [out_dir / f"{name}.{suffix}" for suffix in ("obj", "ply", "glb")]
    for path in written:
        mesh.export(path)
    params = {
        "global_orient": prediction.pose[:3],
        "body_pose": prediction.pose[3:],
        "betas": prediction.betas,
        "transl": prediction.transl,
    }
    written.append(out_dir / f"{name}.npz")
    np.savez(written[-1], **{k: np.asarray(v, np.float32) for k, v in params.items()})
    k = prediction.intrinsics
    centre, side = prediction.box
    record = {
        **{key: np.asarray(value).tolist() for key, value in params.items()},
        "box": {"centre": np.asarray(centre).tolist(), "side": float(side), "source": prediction.box_source},
        "joints_2d": prediction.joints_2d.round(2).tolist(),
        "keypoints_2d": None if prediction.keypoints is None else prediction.keypoints.round(3).tolist(),
        "keypoints_note": "joints_2d: the 24 predicted SMPL joints projected; keypoints_2d: MediaPipe "
        "BlazePose's 33 landmarks (x, y in pixels, visibility) where the person was detected",
        "camera": {"fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy, "width": k.width, "height": k.height},
        "camera_note": "assumed: focal = 1.15 x the image's larger side",
    }
    if prediction.fit is not None:
        record["fit"] = prediction.fit
        record["network"] = {key: np.asarray(value).round(6).tolist() for key, value in prediction.network.items()}
        record["fit_note"] = (
            "the main parameters are the body fitted to keypoints_2d after the network where fit.kept, else the "
            "network's; 'network' holds the network's own answer; reprojection errors: the confidence-weighted "
            "mean distance of the projected body points from the keypoints, in box sides"
        )
    written.append(out_dir / f"{name}.json")
    written[-1].write_text(json.dumps(record, indent=1))
    renderer = Renderer()
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
    for suffix, picture in (("crop", on_crop), ("side", side_view)):
        written.append(out_dir / f"{name}_{suffix}.png")
        Image.fromarray(picture).save(written[-1])
    return written


def overlay(predictions: list[Prediction], faces: np.ndarray, alpha: float = 0.7) -> np.ndarray:
    """(H, W, 3) uint8: every prediction's mesh over their (shared) image, one colour a person."""
    meshes = [(p.vertices, faces, PERSON_COLOURS[i % len(PERSON_COLOURS)]) for i, p in enumerate(predictions)]
    picture, _ = Renderer().render(meshes, predictions[0].intrinsics, background=predictions[0].image, alpha=alpha)
    return picture


def _turn_to_side(vertices: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """Camera-frame vertices (y down) turned so a y-up orbit camera sees the body's side: the
    camera's view axis becomes the world's x."""
    flip = np.array([[0, 0, -1.0], [0, -1.0, 0], [-1.0, 0, 0]])  # x_cam -> -z, y_cam -> -y, z_cam -> -x
    return (vertices - middle) @ flip.T + middle
