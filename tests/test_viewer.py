from hmrlib.data.dataset import H36MDataset
from hmrlib.evaluate import mean_parameters
from hmrlib.viewer import MeshViewer


def test_viewer_controls_change_the_picture(tiny_root, standin):
    dataset = H36MDataset(tiny_root, subjects=["S9"], actions=["Walking", "Greeting"])
    pose, betas = mean_parameters(dataset)
    n = len(dataset)
    viewer = MeshViewer(dataset, {"mean": {"pose": pose.expand(n, -1).numpy(), "betas": betas.expand(n, -1).numpy()},
                                  "zero": {"pose": 0 * pose.expand(n, -1).numpy(), "betas": betas.expand(n, -1).numpy()}}, standin)
    seen = [viewer.image.value]
    for control, value in ((viewer.sample, 5), (viewer.variant, "zero"), (viewer.show, "prediction"), (viewer.azimuth, 90.0),
                           (viewer.elevation, 30.0), (viewer.errors, True)):
        control.value = value
        assert viewer.image.value not in seen, control.description
        seen.append(viewer.image.value)
    assert dataset.sample_id(5) in viewer.metrics.value and "MPJPE" in viewer.metrics.value
