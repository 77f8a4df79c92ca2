"""Cameras: pinhole intrinsics and world-to-camera placement, as pure numpy.

Convention (OpenCV / Human3.6M): x right, y down, z forward, pixels from the top-left with pixel
centres at integer coordinates. An extrinsic (R (3,3), t (3,)) maps world points to the camera:
x_cam = R x + t. :func:`orbit_camera` places a camera around a body in SMPL's frame (y up,
facing +z).
"""

from dataclasses import dataclass

import numpy as np

IDENTITY_EXTRINSIC = (np.eye(3), np.zeros(3))


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

    def scaled(self, factor: float) -> "Intrinsics":
        """The same camera for images resized by ``factor`` (pixel centres kept consistent)."""
        return Intrinsics(
            self.fx * factor,
            self.fy * factor,
            (self.cx + 0.5) * factor - 0.5,
            (self.cy + 0.5) * factor - 0.5,
            round(self.width * factor),
            round(self.height * factor),
        )

    def project(self, camera_points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixel coordinates (u right, v down)."""
        z = camera_points[..., 2:3]
        return camera_points[..., :2] / z * [self.fx, self.fy] + [self.cx, self.cy]


def look_at(eye, target, up=(0.0, 1.0, 0.0)):
    """World-to-camera (R, t) for a camera at ``eye`` looking at ``target``, ``up`` up in the image."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: the camera's axes in world coordinates
    return rotation, -rotation @ eye


def orbit_camera(target, distance: float, azimuth_deg: float = 0.0, elevation_deg: float = 0.0):
    """(R, t) for a camera on a sphere around ``target`` in SMPL's frame: azimuth 0 looks at the
    body's front (from +z), positive azimuth walks towards the body's left (+x), elevation up."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    offset = distance * np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    return look_at(np.asarray(target, float) + offset, target)


def to_camera(points: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(..., 3) world points -> camera frame."""
    return points @ rotation.T + translation


def rotate_about(points: np.ndarray, centre: np.ndarray, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Turn camera-frame points (y down) about ``centre``: azimuth about the image's vertical,
    elevation about its horizontal axis — what moving the camera around the body would show."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    about_y = np.array([[np.cos(az), 0, np.sin(az)], [0, 1, 0], [-np.sin(az), 0, np.cos(az)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(el), -np.sin(el)], [0, np.sin(el), np.cos(el)]])
    return (points - centre) @ (about_x @ about_y).T + centre
