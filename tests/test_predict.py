import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import trimesh
from PIL import Image

from hmrlib.__main__ import main
from hmrlib.train import Trainer, profile

PHOTOS = Path(skimage.data.__file__).parent  # photographs shipped by scikit-image, not made here


@pytest.fixture(scope="module")
def checkpoint(tiny_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("predict_run")
    Trainer(profile("tiny", "resnext_supergat", data_root=tiny_root), run, progress=False).run()
    return run / "checkpoints" / "best.pt"


def test_predict_on_real_photographs_and_odd_files(checkpoint, tmp_path, standin):
    rgba = tmp_path / "rgba.png"
    Image.open(PHOTOS / "astronaut.png").convert("RGBA").save(rgba)
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(np.asarray(Image.open(PHOTOS / "camera.png")).astype(np.uint16) * 257).save(sixteen)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    images = [PHOTOS / "astronaut.png", PHOTOS / "camera.png", broken, rgba, tmp_path / "missing.png", sixteen]
    code = main(["predict", *map(str, images), "--checkpoint", str(checkpoint), "--out", str(out)])
    assert code == 1  # two bad files reported, the others done
    for stem in ("astronaut", "camera", "rgba", "sixteen"):
        mesh = trimesh.load(out / f"{stem}.obj", process=False)
        assert mesh.vertices.shape == (standin.num_vertices, 3)
        assert (out / f"{stem}.ply").exists() and (out / f"{stem}_side.png").exists()
        params = json.loads((out / f"{stem}.json").read_text())
        assert [len(params[k]) for k in ("global_orient", "body_pose", "betas", "transl")] == [3, 69, 10, 3]
    assert not (out / "broken.obj").exists()


def test_overlay_sits_in_the_given_box(checkpoint, tmp_path):
    """The astronaut photo with a box around her: the mesh drawn over the photo stays in the
    square box that predict crops (side = the box's larger side, 492 px, centred on it) — the
    mesh's width depends on the pose a 12-step model predicts, so the given 280-px width is not
    a bound."""
    main(
        [
            "predict",
            str(PHOTOS / "astronaut.png"),
            "--checkpoint",
            str(checkpoint),
            "--bbox",
            "140,20,280,492",
            "--out",
            str(tmp_path),
        ]
    )
    photo = np.asarray(Image.open(PHOTOS / "astronaut.png").convert("RGB")).astype(int)
    overlay = np.asarray(Image.open(tmp_path / "astronaut_overlay.png")).astype(int)
    changed = np.abs(overlay - photo).sum(2) > 30
    ys, xs = np.nonzero(changed)
    assert changed.mean() > 0.05
    inside = (xs >= 280 - 246 - 15) & (xs < 280 + 246 + 15) & (ys >= 20 - 15) & (ys < 512)
    assert inside.mean() > 0.97
    # predict places the middle of the mesh's extent at the box's centre (up to perspective);
    # the pixels' mean would depend on the pose (an arm held out to one side moves it)
    assert abs(0.5 * (xs.min() + xs.max()) - 280) < 40


def test_bad_bbox_is_named(checkpoint):
    with pytest.raises(ValueError, match="--bbox must be x,y,w,h"):
        main(["predict", str(PHOTOS / "astronaut.png"), "--checkpoint", str(checkpoint), "--bbox", "1,2,3"])
