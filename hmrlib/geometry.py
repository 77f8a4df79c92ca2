"""Rotation conversions (roma does the work) and 2D/3D helpers shared by models and augmentation.

Letters: B batch, J joints. Axis-angle vectors are (..., 3), rotation matrices (..., 3, 3).
"""

import roma
import torch


def rotvec_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3)."""
    return roma.rotvec_to_rotmat(rotvec)


def matrix_to_rotvec(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle with angle in [0, pi]."""
    return roma.rotmat_to_rotvec(matrix)


def sixd_to_matrix(sixd: torch.Tensor) -> torch.Tensor:
    """(..., 6) two matrix columns (Zhou et al. 2019) -> (..., 3, 3) by Gram-Schmidt."""
    return roma.special_gramschmidt(sixd.unflatten(-1, (3, 2)))


def matrix_to_sixd(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6) its first two columns, the inverse of :func:`sixd_to_matrix`."""
    return matrix[..., :2].flatten(-2)


def rotate_about_camera_axis(rotvec: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Compose (B, 3) global orientations with rotations by ``angle`` (B,) about the camera's z axis.

    With x right and y down (OpenCV), a positive angle turns x towards y: the image content
    rotates clockwise on screen.
    """
    cos, sin, zero, one = angle.cos(), angle.sin(), torch.zeros_like(angle), torch.ones_like(angle)
    about_z = torch.stack([cos, -sin, zero, sin, cos, zero, zero, zero, one], -1).view(-1, 3, 3)
    return matrix_to_rotvec(about_z @ rotvec_to_matrix(rotvec))


def heading_angle(orientation: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) camera-frame global orientations -> (...,) the heading: the angle of the body's
    forward direction (SMPL's +z) about the camera's vertical axis, 0 facing away from the camera."""
    forward = orientation[..., :, 2]
    return torch.atan2(forward[..., 0], forward[..., 2])


def about_camera_vertical(angle: torch.Tensor) -> torch.Tensor:
    """(...,) -> (..., 3, 3) rotations about the camera's y axis turning heading 0 into ``angle``."""
    cos, sin, zero, one = angle.cos(), angle.sin(), torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([cos, zero, sin, zero, one, zero, -sin, zero, cos], -1).unflatten(-1, (3, 3))


def cell_centres(cells: int, device=None) -> torch.Tensor:
    """(cells,) the centres of a map's cells along one side in normalised crop coordinates
    (:func:`project_to_crop`'s: [-1, 1] edge to edge)."""
    return (torch.arange(cells, device=device) + 0.5) / cells * 2 - 1


def project_to_crop(points: torch.Tensor, camera: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) camera-frame points -> (B, J, 2) in the crop's normalised coordinates: [-1, 1]
    from the crop's left/top edge to its right/bottom edge (grid_sample's align_corners=False,
    x right, y down). camera (B, 4): fx, fy, cx, cy in pixels; box (B, 4): the crop's left, top,
    width and height in whole pixels, as it was cut (pixel centres at integer coordinates)."""
    pixels = points[..., :2] / points[..., 2:].clamp(min=1e-3) * camera[:, None, :2] + camera[:, None, 2:]
    return (pixels - box[:, None, :2] + 0.5) / box[:, None, 2:] * 2 - 1
