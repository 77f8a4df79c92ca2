"""Offscreen mesh rendering with pyrender (EGL by default; see hmrlib.compat.configure_opengl).

Cameras are hmrlib.camera's (OpenCV convention). Meshes are (vertices (V,3), faces (F,3),
colour RGBA (4,) or per-vertex (V,4)).
"""

import numpy as np
import scipy.sparse

from hmrlib.camera import IDENTITY_EXTRINSIC, Intrinsics, rotate_about
from hmrlib.compat import configure_opengl

configure_opengl()
import pyrender  # noqa: E402  (must come after the platform is chosen)

# pyrender's camera looks down -z with y up: OpenCV's axes with y and z flipped.
_OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])
BODY_COLOUR = (0.62, 0.72, 0.88, 1.0)


class _NormalCache:
    """Smooth vertex normals through a sparse vertex-face incidence matrix built once per mesh."""

    def __init__(self):
        self._faces, self._incidence = None, None

    def __call__(self, vertices, faces):
        if self._faces is None or self._faces.shape != faces.shape or not np.array_equal(self._faces, faces):
            rows = faces.ravel()
            cols = np.repeat(np.arange(len(faces)), 3)
            self._incidence = scipy.sparse.csr_matrix(
                (np.ones(len(rows)), (rows, cols)), shape=(len(vertices), len(faces))
            )
            self._faces = faces.copy()
        tri = vertices[faces]
        normals = self._incidence @ np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # area-weighted
        return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


_offscreen = None


def _shared_offscreen() -> "pyrender.OffscreenRenderer":
    """The process's one offscreen context. pyrender's delete() terminates the EGL display,
    which breaks every other context in the process, so the context is made once and kept."""
    global _offscreen
    if _offscreen is None:
        _offscreen = pyrender.OffscreenRenderer(64, 64)
    return _offscreen


class Renderer:
    """Draws scenes offscreen; each call builds a scene and renders it from one or more cameras.

    ``lights``: None for two lights that move with the camera; otherwise a list of
    (direction (3,) in world coordinates, intensity, RGB colour) fixed in the world.
    """

    def __init__(self):
        self._renderer = _shared_offscreen()
        self._normals = _NormalCache()

    def render(
        self, meshes, intrinsics: Intrinsics, extrinsic=IDENTITY_EXTRINSIC, background=None, alpha=1.0, lights=None
    ):
        """Returns (image (H,W,3) uint8, depth (H,W) float32 metres, 0 where empty).

        With a background (H,W,3) uint8 the meshes are blended over it with opacity ``alpha``;
        without, over white.
        """
        return self.render_views(meshes, [(intrinsics, extrinsic, background)], alpha=alpha, lights=lights)[0]

    def render_views(self, meshes, views, alpha=1.0, lights=None):
        """views: list of (Intrinsics, (R, t), background or None). Returns [(image, depth), ...]."""
        scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.25, 0.25, 0.25))
        for vertices, faces, colour in meshes:
            scene.add(self._mesh(np.asarray(vertices, np.float64), np.asarray(faces), np.asarray(colour, np.float64)))
        camera_node = scene.add(pyrender.IntrinsicsCamera(1.0, 1.0, 0.0, 0.0, znear=0.05, zfar=100.0))
        if lights is None:
            for pose in _headlight_poses():
                scene.add(pyrender.DirectionalLight(intensity=pose[1]), pose=pose[0], parent_node=camera_node)
        else:
            for direction, intensity, colour in lights:
                scene.add(pyrender.DirectionalLight(color=colour, intensity=intensity), pose=_light_pose(direction))
        results = []
        for intrinsics, (rotation, translation), background in views:
            camera_node.camera.fx, camera_node.camera.fy = intrinsics.fx, intrinsics.fy
            camera_node.camera.cx, camera_node.camera.cy = intrinsics.cx, intrinsics.cy
            world_to_camera = np.eye(4)
            world_to_camera[:3, :3], world_to_camera[:3, 3] = rotation, translation
            scene.set_pose(camera_node, np.linalg.inv(world_to_camera) @ _OPENCV_TO_OPENGL)
            self._renderer.viewport_width, self._renderer.viewport_height = intrinsics.width, intrinsics.height
            rgba, depth = self._renderer.render(scene, flags=pyrender.RenderFlags.RGBA)
            coverage = (depth > 0)[..., None] * alpha
            base = (
                np.full((intrinsics.height, intrinsics.width, 3), 255, np.uint8) if background is None else background
            )
            results.append(((coverage * rgba[..., :3] + (1 - coverage) * base).round().astype(np.uint8), depth))
        return results

    def _mesh(self, vertices, faces, colour):
        per_vertex = colour.ndim == 2
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0) if per_vertex else colour, metallicFactor=0.0, roughnessFactor=0.8
        )
        primitive = pyrender.Primitive(
            positions=vertices,
            normals=self._normals(vertices, faces),
            indices=faces,
            color_0=colour if per_vertex else None,
            material=material,
        )
        return pyrender.Mesh([primitive])


def _light_pose(direction) -> np.ndarray:
    """Pose of a pyrender directional light (which shines down its -z) shining along ``direction``."""
    backward = -np.asarray(direction, float) / np.linalg.norm(direction)
    helper = np.array([0.0, 1.0, 0.0]) if abs(backward[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(helper, backward)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, np.cross(backward, right), backward], axis=1)
    return pose


def _headlight_poses():
    """A light from the camera and a key light from its upper left, in the camera node's frame."""
    key = _light_pose([0.45, -0.45, -1.0])  # GL camera frame: -z is forward, y up
    return [(np.eye(4), 1.6), (key, 1.2)]


GROUND_TRUTH_COLOUR = (0.25, 0.75, 0.35, 1.0)
PREDICTION_COLOUR = (0.95, 0.5, 0.2, 1.0)


def error_colours(errors: np.ndarray, vmax: float) -> np.ndarray:
    """Per-vertex errors (V,) -> RGBA (V, 4) on matplotlib's 'inferno' map, 0..vmax."""
    from matplotlib import colormaps

    return colormaps["inferno"](np.clip(errors / vmax, 0, 1))


def turntable(
    vertices: np.ndarray,
    faces: np.ndarray,
    path,
    colour=BODY_COLOUR,
    frames: int = 36,
    size: int = 384,
    seconds: float = 3.0,
):
    """An animated GIF of camera-frame vertices turning once about their vertical axis."""
    from PIL import Image

    centre = 0.5 * (vertices.min(0) + vertices.max(0))
    extent = np.ptp(vertices, axis=0).max()
    focal = size * 1.2
    intrinsics = Intrinsics(focal, focal, size / 2, size / 2, size, size)
    shift = np.array([0.0, 0.0, focal * extent * 1.3 / size]) - centre  # the body fills ~75% of the frame
    renderer = Renderer()
    images = [
        Image.fromarray(
            renderer.render([(rotate_about(vertices, centre, a, 0.0) + shift, faces, colour)], intrinsics)[0]
        )
        for a in np.linspace(0, 360, frames, endpoint=False)
    ]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 * seconds / frames), loop=0)
    return path
