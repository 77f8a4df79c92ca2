"""Pinned numbers: the `tiny` profile's first training losses and a fixed-seed prediction.

They were recorded before the structure refactor (issue 9) and guard that it changed no
behaviour. The training losses were re-pinned in the commit that derived the trainer's seeds
from names (hmrlib.seeding, which changes every random stream) and trained them on frozen images
(:func:`freeze_images`), and the full model's again when SuperGAT's negatives became a fixed
number per graph and the discriminators' loss a mean over them (issue 11). Re-pin only in a
commit that says why the numbers had to change.
Only the first two steps are compared: the first to 0.1 %, the second to 5 %. Later steps, and on
some CPUs already the second, depend on the machine's vector unit: Adam's first steps amplify the
last bits of a sum (the step-3 loss measured 0.2750 on an AVX2 machine and 0.2715 on an AVX-512
one; the full model's step-2 loss 0.30375 on this project's AVX2 AMD EPYC of 2026-12-03, with the
code of the commit that pinned 0.30178, its vertex_l2 0.07525 against 0.07331, and ResNet-50's
vertex_l2 0.09725 against 0.09738). Step 2 was pinned again (issue 31, on that machine) when
the augmentation's parameters came to be drawn on the device in two draws instead of eighteen:
the tiny profile's ramp augments from step 2, with other random numbers. A change of
behaviour moves the first step already. On one machine training is bit-reproducible;
tests/test_training.py checks that.
"""

import shutil
import zlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from hmrlib.body import load_body_model
from hmrlib.models import Generator, ModelConfig
from hmrlib.models.generator import HMRLIB_CHANGES
from hmrlib.train import Trainer, profile

FIRST_LOSSES = {
    "resnet50": {
        "loss": [0.6271770596504211, 0.3421386480331421],
        "vertex_l2": [0.23065435886383057, 0.09563291072845459],
    },
    "resnext_supergat_disc": {
        "loss": [0.6598321199417114, 0.31344667077064514],
        "vertex_l2": [0.2371031939983368, 0.0769735798239708],
        "attention": [8.026875495910645, 7.486888408660889],
        "disc_loss": [1.390907883644104, 1.3896418809890747],
    },
}


def freeze_images(source, root):
    """A copy of SynthH36M ``source`` with deterministic noise images in place of its renders:
    separate builds differ by a few pixel values in a few frames (Mesa's rasteriser), enough to
    move a loss by 1 % at step 3 when such a frame is in the batch."""
    shutil.copytree(source, root, dirs_exist_ok=True)
    for path in sorted((root / "H36M").rglob("*.jpg")):
        width, height = Image.open(path).size
        rng = np.random.default_rng(zlib.crc32(path.relative_to(root).as_posix().encode()))
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path, quality=90)
    return root


@pytest.fixture(scope="module")
def frozen_root(tmp_path_factory):
    """SynthH36M tiny of looks 1, as when the losses were pinned: looks 2 (issue 17) gives every
    sequence its own body, which changes the labels and so the losses, not the trainer."""
    from hmrlib.data.synth import SynthConfig, generate

    source = tmp_path_factory.mktemp("tiny_looks1")
    generate(source, SynthConfig(size="tiny", looks=1), processes=2, progress=False)
    return freeze_images(source, tmp_path_factory.mktemp("frozen_tiny"))


@pytest.mark.parametrize("variant", list(FIRST_LOSSES))
def test_first_training_losses_are_pinned(frozen_root, tmp_path, variant):
    base = profile("tiny", variant, data_root=frozen_root)
    # recorded before SuperGAT's layers had a LayerNorm in front (issue 10): pinned without it;
    # and before boxes were cut as the course's code cuts them (issue 18): pinned with rounding
    base = replace(
        base,
        model=replace(base.model, gat_norm=False),
        data=replace(base.data, box_rounding="round"),
        optim=replace(base.optim, iterations=4),
    )
    Trainer(base, tmp_path, progress=False).run()
    log = pd.read_csv(tmp_path / "train_log.csv")
    for column, expected in FIRST_LOSSES[variant].items():
        np.testing.assert_allclose(log[column][0], expected[0], rtol=1e-3, err_msg=f"{column}, step 1")
        np.testing.assert_allclose(
            log[column][1], expected[1], rtol=5e-2, err_msg=f"{column}, step 2 (machine-dependent)"
        )


def test_fixed_seed_prediction_is_pinned():
    """A fresh generator started at a mean pose and shape, as every trained one is. Recorded
    before the refactor, when the mean was written into the readouts' biases; the third column
    of the betas and vertices was recorded again on 2026-11-26 (its values were lost in an edit;
    the first two columns, unchanged, still match the pre-refactor record)."""
    mean_pose, mean_betas = 0.2 * torch.sin(torch.arange(72.0)), 0.5 * torch.cos(torch.arange(10.0))
    torch.manual_seed(0)
    body = load_body_model()
    # hmrlib's network, as when it was recorded (the defaults became the authors' network in issue 18)
    settings = {**HMRLIB_CHANGES, "gat_norm": False}
    generator = Generator(ModelConfig(variant="resnext_supergat", pretrained="none", **settings)).eval()
    generator.set_mean_parameters(mean_pose, mean_betas)
    images = torch.linspace(0, 1, 2 * 3 * 64 * 64).reshape(2, 3, 64, 64)
    with torch.no_grad():
        out = generator(images)
        mesh = body.mesh(out.pose, out.betas, transl=torch.zeros(2, 3))
    np.testing.assert_allclose(
        out.pose[0, :6],
        [
            0.0002625329652801156,
            0.167073592543602,
            0.1812942922115326,
            0.02870752289891243,
            -0.15227772295475006,
            -0.19167573750019073,
        ],
        rtol=1e-4,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        out.betas[:, :3],
        [
            [0.46514225006103516, 0.35005444288253784, -0.24849164485931396],
            [0.4653206765651703, 0.34153708815574646, -0.23871949315071106],
        ],
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        mesh.vertices[:, 0],
        [
            [-0.0538727231323719, 0.6012641787528992, 0.17648601531982422],
            [-0.05397338420152664, 0.6011441349983215, 0.17643101513385773],
        ],
        rtol=1e-5,
    )
