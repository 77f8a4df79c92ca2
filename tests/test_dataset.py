import shutil

import numpy as np
import pytest
from PIL import Image

from hmrlib.data.crop import course_box, crop_square, crop_to_image, pixel_box
from hmrlib.data.dataset import BadSampleError, H36MDataset
from hmrlib.data.h36m import image_path, params_path

SEQ = ("S1", "Walking.54138969")


@pytest.fixture
def small_root(tiny_root, tmp_path):
    """A writable copy of one subject's Walking frames (16 images) to break."""
    for sub in ("H36M_data_st/S1", "H36M/S1/Images"):
        for seq in (tiny_root / sub).glob("Walking.*"):
            shutil.copytree(seq, tmp_path / sub / seq.name)
    return tmp_path


def break_params(root, frame=1, **changes):
    path = params_path(root, *SEQ, frame)
    values = dict(np.load(path))
    for key, value in changes.items():
        if value is None:
            values.pop(key)
        else:
            values[key] = value
    np.savez(path, **values)
    return path


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"betas": None}, "missing key 'betas'"),
        ({"pose_body": np.zeros(60)}, "'pose_body' has 60 values, expected 63"),
        ({"root_loc": np.array([0, np.nan, 4.0])}, "'root_loc' contains NaN or inf"),
        ({"root_orient": np.array([0, np.inf, 0])}, "'root_orient' contains NaN or inf"),
        ({"center_img": np.array([5000.0, 5000.0])}, "lies wholly outside the 320x321 image"),
        ({"center_img": np.array([-30.0, 160.0])}, "% of the box lies outside"),
        ({"scale_img": np.array(-1.0)}, "scale_img must be positive"),
    ],
)
def test_bad_params_are_named(small_root, changes, problem):
    path = break_params(small_root, **changes)
    with pytest.raises(BadSampleError, match=problem) as info:
        H36MDataset(small_root)
    assert info.value.path == path


def test_corrupt_and_missing_files(small_root):
    params_path(small_root, *SEQ, 2).write_bytes(b"not a zip")
    with pytest.raises(BadSampleError, match=r"2\.npz: unreadable npz"):
        H36MDataset(small_root)
    params_path(small_root, *SEQ, 2).unlink()
    image_path(small_root, *SEQ, 0).unlink()
    with pytest.raises(BadSampleError, match=r"000001\.jpg: missing image"):
        H36MDataset(small_root)


@pytest.mark.parametrize("mode, problem", [("L", "greyscale"), ("RGBA", "RGBA"), ("I;16", "16-bit")])
def test_wrong_image_kinds(small_root, mode, problem):
    path = image_path(small_root, *SEQ, 3)
    image = Image.open(path).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image).astype(np.uint16) * 256)
        path = path.with_suffix(".png")  # JPEG has no 16-bit; a PNG under the .jpg name
        image.save(path, format="PNG")
        path.rename(image_path(small_root, *SEQ, 3))
    else:
        image.save(path, format="PNG" if mode == "RGBA" else "JPEG")
    with pytest.raises(BadSampleError, match=f"{problem} image; expected 8-bit RGB"):
        H36MDataset(small_root)


def test_truncated_jpeg_is_caught_when_decoded(small_root):
    path = image_path(small_root, *SEQ, 1)
    path.write_bytes(path.read_bytes()[:4000])
    dataset = H36MDataset(small_root)  # the header still reads
    index = dataset.keys.index((*SEQ, 1))
    with pytest.raises(BadSampleError, match=r"000002\.jpg: corrupt image data"):
        dataset[index]


def test_skip_mode_reports_what_it_left_out(small_root, tmp_path):
    break_params(small_root, frame=0, betas=None)
    path = image_path(small_root, *SEQ, 1)
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.warns(UserWarning, match="2 bad samples"):
        dataset = H36MDataset(small_root, on_error="skip")
    assert len(dataset) == 14
    report = dataset.write_skip_report(tmp_path / "skipped.csv").read_text()
    assert "missing key 'betas'" in report and "corrupt image data" in report
    with pytest.warns(UserWarning, match="2 bad samples"):  # the cache build finds the JPEG too
        cached = H36MDataset(small_root, on_error="skip", cache_dir=tmp_path / "cache", progress=False)
    assert len(cached) == 14


def test_cache_gives_the_same_crops(small_root, tmp_path):
    plain = H36MDataset(small_root, image_size=64)
    cached = H36MDataset(small_root, image_size=64, cache_dir=tmp_path / "cache", progress=False)
    reloaded = H36MDataset(small_root, image_size=64, cache_dir=tmp_path / "cache", progress=False)
    for i in (0, 7, 15):
        assert np.array_equal(plain.crop(i), cached.crop(i)) and np.array_equal(plain.crop(i), reloaded.crop(i))
    assert len(list((tmp_path / "cache").glob("*.u8"))) == 1


def test_crop_pads_and_maps_back():
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 10:30] = 255  # a white square near the left edge
    crop = crop_square(image, center=(20, 50), side=80, size=40)
    assert crop.shape == (40, 40, 3)
    assert crop[:, :5].max() == 0  # left of the image: padding
    to_image = crop_to_image((20, 50), 80, 40)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    back = to_image @ np.stack([xs.mean(), ys.mean(), 1.0])
    assert np.allclose(back[:2], [19.5, 49.5], atol=1.0)  # the square's centre


def test_index_cache_notices_an_edited_file(small_root, tmp_path):
    cache = tmp_path / "cache"
    first = H36MDataset(small_root, cache_dir=cache, progress=False)
    again = H36MDataset(small_root, cache_dir=cache, progress=False)
    assert again.keys == first.keys and np.array_equal(again.params["body_pose"], first.params["body_pose"])
    assert len(list(cache.glob("index_*.npz"))) == 1
    break_params(small_root, frame=2, root_loc=np.array([0, np.nan, 4.0]))
    with pytest.raises(BadSampleError, match="'root_loc' contains NaN"):
        H36MDataset(small_root, cache_dir=cache, progress=False)


def course_crop(image, center, side, size):
    """The course's data code's arithmetic, written out: int() of the corner and of the side,
    the box cut from a zero-padded copy, then resized."""
    left, top, side = int(center[0] - side / 2), int(center[1] - side / 2), int(side)
    canvas = np.zeros((side, side, 3), np.uint8)
    for y in range(side):
        for x in range(side):
            if 0 <= top + y < image.shape[0] and 0 <= left + x < image.shape[1]:
                canvas[y, x] = image[top + y, left + x]
    return np.array(Image.fromarray(canvas).resize((size, size), Image.BILINEAR, reducing_gap=2.0))


@pytest.mark.parametrize("center, side", [((100.7, 50.2), 81.9), ((10.3, 20.6), 40.5), ((150.5, 90.5), 33.99)])
def test_boxes_are_cut_as_the_courses_code_cuts_them(center, side):
    image = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    snapped = course_box(center, side)
    assert np.array_equal(crop_square(image, *snapped, 32), course_crop(image, center, side, 32))
    if center == (10.3, 20.6):  # a corner left of the image: int() truncates towards zero, -9.95 -> -9
        assert pixel_box(*snapped)[0] == -9
    assert not np.array_equal(crop_square(image, center, side, 32), course_crop(image, center, side, 32))


def test_the_dataset_cuts_its_boxes_the_courses_way_unless_told_to_round(small_root):
    truncated, rounded = H36MDataset(small_root), H36MDataset(small_root, box_rounding="round")
    center, side = rounded.box(0)
    assert np.allclose(truncated.box(0)[0], course_box(center, side)[0]) and truncated.box(0)[1] == int(side)
    with pytest.raises(ValueError, match="box_rounding"):
        H36MDataset(small_root, box_rounding="floor")
