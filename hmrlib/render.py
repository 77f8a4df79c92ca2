"""Offscreen mesh rendering with pyrender (EGL by default; see hmrlib.compat.configure_opengl).

Cameras follow the OpenCV/H36M convention: x right, y down, z forward, pixels from the top-left.
Vertices are passed in that camera frame; :func:`orbit_camera` and :func:`to_camera` place a body
given in its own frame (SMPL's: y up, facing +z) in front of a camera.
"""
from dataclasses import dataclass

import numpy as np

from hmrlib.compat import configure_opengl

configure_opengl()
import pyrender  # noqa: E402  (must come after the platform is chosen)
import trimesh  # noqa: E402

# pyrender's camera looks down -z with y up: OpenCV's axes with y and z flipped.
_OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])
BODY_COLOUR = (0.62, 0.72, 0.88, 1.0)


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float = 40.0) -> "Intrinsics":
        focal = 0.5 * height / np.tan(np.radians(fov_deg) / 2)
        return cls(focal, focal, width / 2, height / 2, width, height)


def orbit_camera(target, distance: float, azimuth_deg: float = 0.0, elevation_deg: float = 0.0):
    """World-to-camera (R (3,3), t (3,)) for a camera on a sphere around ``target``.

    World is SMPL's frame; azimuth 0 looks at the body's front (from +z), positive azimuth
    walks the camera towards the body's left (+x), positive elevation raises it.
    """
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    eye = np.asarray(target, float) + distance * np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    forward = np.asarray(target, float) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    return rotation, -rotation @ eye


def to_camera(points: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(..., 3) world points -> camera frame."""
    return points @ rotation.T + translation


class Renderer:
    """Renders triangle meshes given in the OpenCV camera frame; reuse one per image size."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._renderer = pyrender.OffscreenRenderer(width, height)

    def render(self, meshes, intrinsics: Intrinsics, background: np.ndarray | None = None, alpha: float = 1.0):
        """meshes: iterable of (vertices (V,3), faces (F,3), colour RGBA (4,) or per-vertex (V,4)).

        Returns (image (H,W,3) uint8, depth (H,W) float32 metres, 0 where empty). With a
        background (H,W,3) uint8 the body is blended over it with opacity ``alpha``.
        """
        if (intrinsics.width, intrinsics.height) != (self.width, self.height):
            raise ValueError(f"intrinsics are for {intrinsics.width}x{intrinsics.height}, renderer is {self.width}x{self.height}")
        scene = pyrender.Scene(bg_color=(1.0, 1.0, 1.0, 0.0), ambient_light=(0.25, 0.25, 0.25))
        for vertices, faces, colour in meshes:
            colour = np.asarray(colour, dtype=float)
            per_vertex = colour.ndim == 2
            mesh = trimesh.Trimesh(vertices, faces, vertex_colors=colour if per_vertex else None, process=False)
            material = None if per_vertex else pyrender.MetallicRoughnessMaterial(
                baseColorFactor=colour, metallicFactor=0.0, roughnessFactor=0.7)
            scene.add(pyrender.Mesh.from_trimesh(mesh, material=material, smooth=True))
        camera = pyrender.IntrinsicsCamera(intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy, znear=0.05, zfar=100.0)
        scene.add(camera, pose=_OPENCV_TO_OPENGL)
        scene.add(pyrender.DirectionalLight(intensity=1.6), pose=_OPENCV_TO_OPENGL)
        key_light = _OPENCV_TO_OPENGL.copy()
        key_light[:3, :3] = trimesh.transformations.rotation_matrix(np.radians(-35), [1, 1, 0])[:3, :3] @ key_light[:3, :3]
        scene.add(pyrender.DirectionalLight(intensity=1.2), pose=key_light)
        rgba, depth = self._renderer.render(scene, flags=pyrender.RenderFlags.RGBA)
        coverage = (depth > 0)[..., None] * alpha
        base = np.full((self.height, self.width, 3), 255, np.uint8) if background is None else background
        image = coverage * rgba[..., :3] + (1 - coverage) * base
        return image.round().astype(np.uint8), depth

    def close(self):
        self._renderer.delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
