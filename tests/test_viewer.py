import io

import numpy as np
from PIL import Image

from hmrlib.data.dataset import H36MDataset
from hmrlib.evaluation.evaluate import mean_parameters
from hmrlib.present.viewer import MeshViewer


def picture(viewer) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(viewer.image.value)))


def mesh_extent(image: np.ndarray) -> int:
    """The larger side, in pixels, of the box around everything that is not white."""
    ys, xs = np.nonzero(np.abs(image.astype(int) - 255).sum(2) > 0)
    return max(np.ptp(xs), np.ptp(ys))


def test_viewer_controls_change_the_picture(tiny_root, standin):
    dataset = H36MDataset(tiny_root, subjects=["S9"], actions=["Walking", "Greeting"])
    pose, betas = mean_parameters(dataset)
    n = len(dataset)
    viewer = MeshViewer(
        dataset,
        {
            "mean": {"pose": pose.expand(n, -1).numpy(), "betas": betas.expand(n, -1).numpy()},
            "zero": {"pose": 0 * pose.expand(n, -1).numpy(), "betas": betas.expand(n, -1).numpy()},
        },
        standin,
    )
    person = picture(viewer)
    assert viewer.view.value == "person" and person.shape[:2] == (512, 512)  # the default: zoomed to the person
    seen = [viewer.image.value]
    viewer.view.value = "full frame"
    full = picture(viewer)
    width, height = dataset.intrinsics(0).width, dataset.intrinsics(0).height
    assert full.shape[0] == 512 and abs(full.shape[1] - 512 * width / height) <= 1  # the camera's whole frame
    # zoomed, the meshes span the picture (side = 1.15 x their extent); in the full frame, less
    viewer.azimuth.value = 90.0  # no photo behind the meshes: white where they are not
    viewer.view.value = "person"
    zoomed = mesh_extent(picture(viewer))
    viewer.view.value = "full frame"
    assert zoomed > 0.8 * 512 and mesh_extent(picture(viewer)) < 0.9 * zoomed
    viewer.view.value, viewer.azimuth.value = "person", 0.0
    assert viewer.image.value == seen[0]
    for control, value in (
        (viewer.sample, 5),
        (viewer.variant, "zero"),
        (viewer.show, "prediction"),
        (viewer.azimuth, 90.0),
        (viewer.elevation, 30.0),
        (viewer.errors, True),
        (viewer.view, "full frame"),
    ):
        control.value = value
        assert viewer.image.value not in seen, control.description
        seen.append(viewer.image.value)
    assert dataset.sample_id(5) in viewer.metrics.value and "MPJPE" in viewer.metrics.value
