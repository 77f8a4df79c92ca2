import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skimage.data
import trimesh
from PIL import Image

from hmrlib.__main__ import main
from hmrlib.people.predict import read_rgb
from hmrlib.train import Trainer, profile

PHOTOS = Path(skimage.data.__file__).parent  # photographs shipped by scikit-image, not made here


@pytest.fixture(scope="module")
def checkpoint(tiny_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("predict_run")
    Trainer(profile("tiny", "resnext_supergat", data_root=tiny_root), run, progress=False).run()
    return run / "checkpoints" / "best.pt"


def odd_images(folder):
    """(RGBA photo, 16-bit photo, the RGB each should read as): values for which a wrong
    conversion reads another picture — alpha from 0 to 255 (dropping it, or compositing on
    black, differ from compositing on white), and a dark 16-bit picture whose low bytes are noise
    (taking the low byte, or stretching by the image's maximum, differ from v / 257)."""
    rng = np.random.default_rng(0)
    astronaut = np.asarray(Image.open(PHOTOS / "astronaut.png").convert("RGB")).astype(np.float64)
    alpha = np.tile(np.linspace(0, 255, astronaut.shape[1]), (astronaut.shape[0], 1)).round()
    Image.fromarray(np.dstack([astronaut, alpha]).astype(np.uint8), "RGBA").save(folder / "rgba.png")
    on_white = np.rint(astronaut * alpha[..., None] / 255 + 255 * (1 - alpha[..., None] / 255))
    dark = np.asarray(Image.open(PHOTOS / "camera.png")).astype(np.int64) // 2
    noisy = np.clip(dark * 257 + rng.integers(-100, 101, dark.shape), 0, 65535).astype(np.uint16)
    Image.fromarray(noisy).save(folder / "sixteen.png")
    return folder / "rgba.png", folder / "sixteen.png", on_white, np.repeat(dark[..., None], 3, 2)


def test_odd_images_read_as_the_picture_they_hold(tmp_path):
    rgba, sixteen, rgba_expected, sixteen_expected = odd_images(tmp_path)
    assert np.abs(read_rgb(rgba).astype(int) - rgba_expected).max() <= 1
    assert np.array_equal(read_rgb(sixteen), sixteen_expected)


def test_predict_on_real_photographs_and_odd_files(checkpoint, tmp_path, standin):
    rgba, sixteen = odd_images(tmp_path)[:2]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    images = [PHOTOS / "astronaut.png", PHOTOS / "camera.png", broken, rgba, tmp_path / "missing.png", sixteen]
    code = main(["predict", *map(str, images), "--checkpoint", str(checkpoint), "--out", str(out)])
    assert code == 1  # two bad files reported, the others done
    for stem in ("astronaut", "camera", "rgba", "sixteen"):
        mesh = trimesh.load(out / f"{stem}_p0.obj", process=False)
        assert mesh.vertices.shape == (standin.num_vertices, 3)
        assert trimesh.load(out / f"{stem}_p0.glb", force="mesh", process=False).vertices.shape == mesh.vertices.shape
        assert (out / f"{stem}_p0.ply").exists() and (out / f"{stem}_p0_side.png").exists()
        assert (out / f"{stem}_overlay.png").exists() and not (out / f"{stem}_p1.obj").exists()  # one person each
        params = json.loads((out / f"{stem}_p0.json").read_text())
        assert [len(params[k]) for k in ("global_orient", "body_pose", "betas", "transl")] == [3, 69, 10, 3]
        assert params["box"]["source"] == "detected" and np.shape(params["keypoints_2d"]) == (33, 3)
        assert np.shape(params["joints_2d"]) == (24, 2) and "fx" in params["camera"]
        with np.load(out / f"{stem}_p0.npz") as saved:  # smplx's names
            assert saved["body_pose"].shape == (69,) and np.allclose(saved["betas"], params["betas"])
    assert not (out / "broken_p0.obj").exists()


def test_two_people_give_two_meshes_and_one_overlay(checkpoint, tmp_path):
    canvas = np.full((560, 900, 3), 235, np.uint8)
    canvas[20:532, :512] = np.asarray(Image.open(PHOTOS / "astronaut.png").convert("RGB"))
    canvas[150:457, 560:867] = np.asarray(Image.open(PHOTOS / "camera.png").convert("RGB").resize((307, 307)))
    Image.fromarray(canvas).save(tmp_path / "two.png")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "two.png"), "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    boxes = [json.loads((out / f"two_p{k}.json").read_text())["box"] for k in (0, 1)]
    assert boxes[0]["side"] > boxes[1]["side"] and boxes[0]["centre"][0] < 512 < boxes[1]["centre"][0]
    assert not (out / "two_p2.obj").exists()
    assert (
        main(
            [
                "predict",
                str(tmp_path / "two.png"),
                "--checkpoint",
                str(checkpoint),
                "--out",
                str(out / "one"),
                "--max-people",
                "1",
            ]
        )
        == 0
    )
    assert (out / "one" / "two_p0.obj").exists() and not (out / "one" / "two_p1.obj").exists()


def test_a_folder_with_bad_files_reports_each_by_name_and_does_the_rest(checkpoint, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.open(PHOTOS / "camera.png").save(folder / "camera.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    out = tmp_path / "out"
    assert main(["predict", str(folder), "--checkpoint", str(checkpoint), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    for name in ("notes.txt", "empty.jpg", "clip.mp4"):
        assert f"skipped {folder / name}:" in printed
    assert (out / "camera_p0.obj").exists()


def test_nobody_found_says_so_and_takes_the_whole_image(checkpoint, tmp_path, capsys):
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    assert main(["predict", str(tmp_path / "wall.png"), "--checkpoint", str(checkpoint), "--out", str(tmp_path)]) == 0
    assert "nobody found" in capsys.readouterr().out
    assert json.loads((tmp_path / "wall_p0.json").read_text())["box"]["source"] == "whole image"


def test_a_video_gives_a_row_a_frame_and_smoothing_lowers_the_jitter_fitted_or_not(checkpoint, tiny_root, tmp_path):
    from hmrlib.fitting import KeypointFitter
    from hmrlib.people.detect import PersonDetector
    from hmrlib.people.smoothing import jitter
    from hmrlib.people.video import predict_video, write_video
    from hmrlib.train.trained import load_trained

    sequence = sorted((tiny_root / "H36M" / "S1" / "Images").iterdir())[0]
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(sequence.glob("*.jpg"))[:16]]
    write_video(tmp_path / "walk.mp4", frames, fps=25)
    trained = load_trained(checkpoint, device="cpu")
    image_size = trained.config.data.image_size
    rows = {}
    fitter = KeypointFitter(trained.body)
    for smoothing, fit in ((False, None), (True, None), (False, fitter), (True, fitter)):
        out = tmp_path / f"smoothing_{smoothing}_{fit is not None}"
        written = predict_video(
            trained.generator,
            trained.body,
            tmp_path / "walk.mp4",
            out,
            detector=PersonDetector(max_people=1),
            image_size=image_size,
            smoothing=smoothing,
            progress=False,
            fitter=fit,
        )
        assert {p.name for p in written} == {"walk_params.npz", "walk_params.csv", "walk_overlay.mp4"}
        table = rows[smoothing, fit is not None] = pd.read_csv(out / "walk_params.csv")
        assert len(table) == len(frames) and table.frame.tolist() == list(range(len(frames)))

    def pose(key):
        return rows[key][[c for c in rows[key] if c.startswith(("global_orient", "body_pose"))]].to_numpy()

    assert jitter(pose((True, False))) < 0.8 * jitter(pose((False, False)))
    # each frame fitted to its own keypoints, then smoothed: the fit's frame-to-frame noise goes too
    assert jitter(pose((True, True))) < 0.8 * jitter(pose((False, True)))
    transl = rows[True, True][["transl_0", "transl_1", "transl_2"]].to_numpy()
    assert np.abs(np.diff(transl, axis=0)).max() < 0.1  # metres a frame: the fitted translation is smoothed too


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


def test_the_smoother_follows_a_motion_and_removes_its_noise():
    """An elbow bending from 0 to 1.2 rad over 3 s with 0.05 rad of noise per frame, at 30 fps:
    the smoothed angle follows the clean motion (correlation, range) with far less jitter. Rules
    out a smoother that outputs a constant (no jitter, but no motion) or passes the noise on."""
    from hmrlib.people.smoothing import jitter, smooth_parameters

    frames, rng = 90, np.random.default_rng(0)
    clean = np.linspace(0.0, 1.2, frames)
    pose = np.zeros((frames, 72))
    pose[:, 3 * 18 + 1] = clean + rng.normal(0, 0.05, frames)  # left elbow, about y
    betas = np.tile(rng.normal(size=10), (frames, 1)) + rng.normal(0, 0.02, (frames, 10))
    smooth_pose, smooth_betas = smooth_parameters(pose, betas, fps=30)
    elbow = smooth_pose[:, 3 * 18 + 1]
    assert elbow[-10:].mean() > 1.0 and elbow[:10].mean() < 0.2  # it moved with the elbow
    assert np.corrcoef(elbow, clean)[0, 1] > 0.99 and jitter(elbow) > 0.5 * jitter(clean)
    assert jitter(smooth_pose) < 0.5 * jitter(pose) and jitter(smooth_betas) < 0.5 * jitter(betas)
    assert np.abs(smooth_betas.mean(0) - betas.mean(0)).max() < 0.02


def test_every_input_is_accounted_for_whatever_fails(checkpoint, tiny_root, tmp_path, capsys):
    """A folder of inputs that fail in every way beside good ones: an image too large to hold
    (refused from its header), an error of any class from the detector on one image, a video cut
    short, same-stem inputs from two folders and of two kinds. Each failure is one line naming
    the file, the rest is done with outputs of their own, and the exit status says so. Rules out
    the traceback that one unexpected exception class used to end the run with, and a.png /
    a.jpg / x/a.png / y/a.png overwriting each other's outputs."""
    from hmrlib.people import detect
    from hmrlib.people.video import write_video

    first, second = tmp_path / "x", tmp_path / "y"
    first.mkdir(), second.mkdir()
    Image.open(PHOTOS / "astronaut.png").save(first / "a.png")
    Image.open(PHOTOS / "astronaut.png").convert("RGB").save(first / "a.jpg")
    Image.open(PHOTOS / "camera.png").save(second / "a.png")
    Image.new("L", (13000, 12000)).save(first / "huge.png")  # 156 megapixels of zeros: a small file
    Image.fromarray(np.full((120, 160, 3), 77, np.uint8)).save(first / "poison.png")
    frames = [
        np.asarray(p.convert("RGB") if False else Image.open(p).convert("RGB"))
        for p in sorted(next((tiny_root / "H36M" / "S1" / "Images").iterdir()).glob("*.jpg"))[:12]
    ]
    write_video(first / "walk.mp4", frames, fps=25)
    write_video(tmp_path / "whole.mkv", frames, fps=25)  # Matroska: a cut file keeps its first frames
    data = (tmp_path / "whole.mkv").read_bytes()
    (first / "cut.mkv").write_bytes(data[: int(len(data) * 0.9)])  # ends early

    class Refusing(detect.PersonDetector):
        def __call__(self, image):
            if (image == 77).all():
                raise KeyError("a detector failing in a way nobody planned for")
            return super().__call__(image)

    original = detect.PersonDetector
    detect.PersonDetector = Refusing
    try:
        code = main(["predict", str(first), str(second), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")])
    finally:
        detect.PersonDetector = original
    printed = capsys.readouterr().out
    assert code == 1
    assert f"skipped {first / 'huge.png'}: 13000x12000 = 156 megapixels, over the limit of 150" in printed
    assert "--max-megapixels" in printed
    assert f"skipped {first / 'poison.png'}: KeyError:" in printed
    assert printed.count("  skipped ") == 2 and "5 of 7 inputs done" in printed
    out = tmp_path / "o"
    for name in ("x_a_png", "a_jpg", "y_a_png"):
        assert (out / f"{name}_p0.obj").exists() and (out / f"{name}_overlay.png").exists(), name
    sides = {name: json.loads((out / f"{name}_p0.json").read_text())["box"]["side"] for name in ("x_a_png", "y_a_png")}
    assert sides["x_a_png"] != sides["y_a_png"]  # two photos, not one written twice
    cut = pd.read_csv(out / "cut_params.csv")
    assert 0 < len(cut) < len(frames) and len(pd.read_csv(out / "walk_params.csv")) == len(frames)
    assert f"{first / 'cut.mkv'}: kept the {len(cut)} frames that could be read" in printed


def test_an_out_folder_that_cannot_be_written_stops_before_any_work(checkpoint, tmp_path, capsys):
    (tmp_path / "file").write_text("a file, not a folder")
    code = main(
        [
            "predict",
            str(PHOTOS / "astronaut.png"),
            "--checkpoint",
            str(tmp_path / "nope.pt"),
            "--out",
            str(tmp_path / "file" / "out"),
        ]
    )
    assert code == 2 and "cannot write there" in capsys.readouterr().err


# EXIF orientation k: the stored pixels are the upright picture with the inverse of the turn a
# viewer applies for k (the EXIF specification's table)
STORED_FOR_ORIENTATION = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # turned 180
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # mirrored about the main diagonal
    6: lambda a: np.rot90(a, 1),  # stored turned 90 anticlockwise: shown turned 90 clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),  # mirrored about the other diagonal
    8: lambda a: np.rot90(a, -1),  # stored turned 90 clockwise: shown turned 90 anticlockwise
}


@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_photos_are_read_upright_whatever_their_exif_orientation(tmp_path, orientation):
    """A phone stores a portrait photo sideways and tags how to turn it: read_rgb gives the
    upright picture for each of the eight tags (rules out ignoring the tag, and turning the
    wrong way)."""
    upright = np.zeros((40, 24, 3), np.uint8)
    upright[:10, :6] = (255, 0, 0)  # a red top-left corner
    upright[30:, 18:] = (0, 0, 255)  # a blue bottom-right one
    upright[:10, 18:] = (0, 255, 0)  # a green top-right one
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.png"
    Image.fromarray(np.ascontiguousarray(STORED_FOR_ORIENTATION[orientation](upright))).save(path, exif=exif)
    assert np.array_equal(read_rgb(path), upright)


def test_everybody_in_a_group_is_found_one_box_each(checkpoint, tiny_root, tmp_path):
    """Six SynthH36M people in a row, 150 px apart, each in a 260-px tile that is their training
    box: by default every one gets a mesh (the old default stopped at 4), each box on its own
    person (not swallowing a neighbour), numbered from the largest box to the smallest."""
    from hmrlib.data.crop import crop_square
    from hmrlib.data.dataset import H36MDataset

    dataset = H36MDataset(tiny_root, subjects=["S1", "S8", "S9"], image_size=32)
    picks = np.random.default_rng(0).choice(len(dataset), 6, replace=False)
    canvas = np.full((300, 1050, 3), 120, np.uint8)
    centres = []
    for k, index in enumerate(picks):
        canvas[20:280, 20 + 150 * k : 280 + 150 * k] = crop_square(dataset.image(index), *dataset.box(index), 260)
        centres.append(150 + 150 * k)
    Image.fromarray(canvas).save(tmp_path / "group.png")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "group.png"), "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    boxes = [json.loads((out / f"group_p{k}.json").read_text())["box"] for k in range(6)]
    assert not (out / "group_p6.obj").exists()
    assert [b["side"] for b in boxes] == sorted((b["side"] for b in boxes), reverse=True)
    found = sorted(b["centre"][0] for b in boxes)
    assert np.abs(np.array(found) - centres).max() < 40
    assert all(0.75 * 260 < b["side"] < 1.3 * 260 for b in boxes)


def test_mediapipe_logs_nothing_and_hmrlib_warns_in_one_line(tmp_path):
    """MediaPipe's C++ lines (absl's W0000 ... .cc:114] ...) reach no output; a line written to
    the descriptor by anything else still does; an hmrlib warning is one line without Python's
    source line."""
    import subprocess
    import sys

    code = (
        "import os, warnings, numpy as np, skimage.data\n"
        "from hmrlib.people.detect import PersonDetector\n"
        "from hmrlib.errors import HmrlibWarning\n"
        "print(len(PersonDetector()(skimage.data.astronaut())))\n"
        "os.write(2, b'native line kept\\n')\n"
        "warnings.warn('no ImageNet weights, as a test', HmrlibWarning, stacklevel=1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert result.stderr.splitlines() == ["native line kept", "hmrlib: warning: no ImageNet weights, as a test"]


def test_images_that_cannot_hold_a_person_are_answered_from_the_header_with_a_reason(checkpoint, tmp_path, capsys):
    """A 1x1 PNG was skipped as 'ZeroDivisionError: division by zero'; a 5000x3 strip took 4 min
    45 s of detector windows on its 3-pixel side. Both are refused from the header, by name, and
    the detector's windows are bounded for any image."""
    from hmrlib.people.detect import MAX_WINDOWS_PER_SIDE, _windows

    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    Image.fromarray(np.full((3, 5000, 3), 90, np.uint8)).save(tmp_path / "strip.png")
    Image.fromarray(np.full((300, 4000, 3), 90, np.uint8)).save(tmp_path / "banner.png")
    out = tmp_path / "out"
    code = main(["predict", str(tmp_path), "--checkpoint", str(checkpoint), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1 and "predict: 0 of 3 inputs done" in printed
    assert "dot.png: 1x1 pixels: too small to hold a person" in printed
    assert "strip.png: 5000x3 pixels: too small to hold a person" in printed
    assert "banner.png: 4000x300 pixels: an aspect no person fits" in printed
    assert _windows(3, 5000) == [] and _windows(40, 40) == []
    assert len(_windows(900, 7000)) <= 2 * MAX_WINDOWS_PER_SIDE**2


def test_predict_fits_each_body_to_its_keypoints_and_keeps_the_networks_answer_beside(checkpoint, tmp_path):
    """By default each detected person's body is fitted after the network: the JSON's main
    parameters are the fit's (its joints closer to BlazePose's limb landmarks than the network's),
    the network's answer under "network"; --no-fit gives the network alone."""
    from hmrlib.people.agreement import limb_distances

    image = str(PHOTOS / "astronaut.png")
    assert main(["predict", image, "--checkpoint", str(checkpoint), "--out", str(tmp_path / "fit")]) == 0
    assert main(["predict", image, "--checkpoint", str(checkpoint), "--out", str(tmp_path / "net"), "--no-fit"]) == 0
    fitted = json.loads((tmp_path / "fit" / "astronaut_p0.json").read_text())
    alone = json.loads((tmp_path / "net" / "astronaut_p0.json").read_text())
    assert "fit" not in alone and "network" not in alone
    assert fitted["fit"]["kept"] and fitted["fit"]["prior"] == "near-network"
    assert fitted["fit"]["reprojection_error_fit"] < fitted["fit"]["reprojection_error_network"]
    assert np.allclose(fitted["network"]["body_pose"], alone["body_pose"], atol=1e-4)
    keypoints, side = np.array(fitted["keypoints_2d"]), fitted["box"]["side"]
    after = limb_distances(np.array(fitted["joints_2d"]), keypoints, side).mean()
    before = limb_distances(np.array(fitted["network"]["joints_2d"]), keypoints, side).mean()
    assert after < 0.5 * before
    with np.load(tmp_path / "fit" / "astronaut_p0.npz") as saved:
        assert np.allclose(saved["body_pose"], fitted["body_pose"], atol=1e-5)
