"""Pictures of a body model: T-pose and a posed configuration, front and side."""

import numpy as np
import torch

from hmrlib.body.body_model import load_body_model
from hmrlib.body.example_poses import STRIDE_AND_WAVE
from hmrlib.camera import Intrinsics, orbit_camera
from hmrlib.render import BODY_COLOUR, Renderer


def body_picture(model_path=None, size: int = 480) -> np.ndarray:
    """(size, 4*size, 3) uint8: T-pose front, T-pose side, posed front, posed three-quarter."""
    model = load_body_model(model_path)
    poses = torch.from_numpy(np.stack([np.zeros(72), STRIDE_AND_WAVE])).float()
    with torch.no_grad():
        out = model.mesh(poses, torch.zeros(2, model.num_betas))
    vertices = out.vertices.cpu().numpy()
    intrinsics = Intrinsics.from_fov(size, size, fov_deg=40.0)
    views = [(0, 0.0), (0, 90.0), (1, 0.0), (1, 35.0)]
    renderer, tiles = Renderer(), []
    for body, azimuth in views:
        centre = 0.5 * (vertices[body].min(0) + vertices[body].max(0))
        camera = orbit_camera(centre, distance=3.2, azimuth_deg=azimuth, elevation_deg=8.0)
        tiles.append(renderer.render([(vertices[body], model.faces, BODY_COLOUR)], intrinsics, camera)[0])
    return np.concatenate(tiles, axis=1)
