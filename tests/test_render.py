import numpy as np
import torch
from scipy.ndimage import binary_dilation

from hmrlib.__main__ import main
from hmrlib.camera import Intrinsics, orbit_camera, to_camera
from hmrlib.render import Renderer


def test_silhouette_covers_projected_vertices(standin):
    with torch.no_grad():
        vertices = (
            standin(global_orient=torch.zeros(1, 3), body_pose=torch.zeros(1, 69), betas=torch.zeros(1, 10))
            .vertices[0]
            .numpy()
        )
    intrinsics = Intrinsics(fx=300.0, fy=310.0, cx=150.0, cy=110.0, width=320, height=240)
    rotation, translation = orbit_camera(vertices.mean(0), distance=4.0, azimuth_deg=30.0, elevation_deg=10.0)
    camera_points = to_camera(vertices, rotation, translation)
    image, depth = Renderer().render([(camera_points, standin.faces, (0.5, 0.5, 0.9, 1.0))], intrinsics)
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    u = intrinsics.fx * camera_points[:, 0] / camera_points[:, 2] + intrinsics.cx
    v = intrinsics.fy * camera_points[:, 1] / camera_points[:, 2] + intrinsics.cy
    # Vertices on the silhouette's edge land up to a pixel outside it: allow one pixel.
    silhouette = binary_dilation(depth > 0)
    inside = silhouette[np.clip(v.astype(int), 0, 239), np.clip(u.astype(int), 0, 319)]
    assert inside.mean() > 0.99
    head = camera_points[:, 1].argmin()  # y points down: the top of the head
    assert v[head] < intrinsics.cy - 30  # upright: the head is in the upper part of the image
    assert (depth > 0).mean() > 0.02 and (image[depth == 0] == 255).all()


def test_show_body_command_writes_a_picture(tmp_path):
    out = tmp_path / "body.png"
    main(["show-body", "--out", str(out)])
    from PIL import Image

    image = np.asarray(Image.open(out))
    assert image.shape == (480, 1920, 3)
    assert (image < 250).any(axis=2).mean() > 0.03  # a body, not a blank page
