import numpy as np
import pytest
import torch

from hmrlib.body import STANDIN_PATH, load_body_model


@pytest.fixture(scope="session")
def standin():
    return load_body_model()


@pytest.fixture(scope="session")
def standin_arrays():
    with np.load(STANDIN_PATH, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def pose_body(model, pose, betas=None):
    """Vertices (B, V, 3) of full poses (B, 72) as numpy, betas zero unless given."""
    pose = torch.as_tensor(np.atleast_2d(pose), dtype=torch.float32)
    betas = (
        torch.zeros(len(pose), model.num_betas)
        if betas is None
        else torch.as_tensor(np.atleast_2d(betas), dtype=torch.float32)
    )
    with torch.no_grad():
        return model.mesh(pose, betas).vertices.numpy()


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """SynthH36M 'tiny' (720 images: S1, S8, S9), generated once per test session."""
    from hmrlib.data.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth_tiny")
    generate(root, SynthConfig(size="tiny"), processes=2, progress=False)
    return root
