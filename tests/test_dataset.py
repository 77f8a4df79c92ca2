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


def test_a_replaced_image_under_a_warm_crop_cache_is_cropped_anew(small_root, tmp_path):
    """Rules out a crop cache keyed by the keys and boxes only: it served the old crops after a
    JPEG was replaced (the index cache already looked at file times and sizes)."""
    cache = tmp_path / "cache"
    warm = H36MDataset(small_root, image_size=32, cache_dir=cache, progress=False)
    before = warm.crop(3)
    path = image_path(small_root, *warm.keys[3])
    Image.fromarray(255 - np.asarray(Image.open(path))).save(path, quality=95)  # another picture, same name
    again = H36MDataset(small_root, image_size=32, cache_dir=cache, progress=False)
    uncached = H36MDataset(small_root, image_size=32)
    assert np.array_equal(again.crop(3), uncached.crop(3)) and not np.array_equal(again.crop(3), before)
    assert np.array_equal(again.crop(2), warm.crop(2))


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


def spin_crop(image, center, scale, res):
    """The course skeleton's data/util.py crop() (SPIN's), rotation 0, written out as it is:
    get_transform, transform(..., invert=1) with its int() and +1, the corners -1, the box
    filled from a zero canvas; then resized to res x res with PIL's bilinear filter."""
    h = 200 * scale
    t = np.zeros((3, 3))
    t[0, 0], t[1, 1] = float(res) / h, float(res) / h
    t[0, 2], t[1, 2] = res * (-float(center[0]) / h + 0.5), res * (-float(center[1]) / h + 0.5)
    t[2, 2] = 1

    def transform(pt):
        new_pt = np.dot(np.linalg.inv(t), np.array([pt[0] - 1, pt[1] - 1, 1.0]).T)
        return new_pt[:2].astype(int) + 1

    ul = np.array(transform([1, 1])) - 1
    br = np.array(transform([res + 1, res + 1])) - 1
    new_img = np.zeros([br[1] - ul[1], br[0] - ul[0], 3], dtype=np.uint8)
    new_x = max(0, -ul[0]), min(br[0], len(image[0])) - ul[0]
    new_y = max(0, -ul[1]), min(br[1], len(image)) - ul[1]
    old_x = max(0, ul[0]), min(len(image[0]), br[0])
    old_y = max(0, ul[1]), min(len(image), br[1])
    new_img[new_y[0] : new_y[1], new_x[0] : new_x[1]] = image[old_y[0] : old_y[1], old_x[0] : old_x[1]]
    return np.array(Image.fromarray(new_img).resize((res, res), Image.BILINEAR, reducing_gap=2.0)), (ul, br)


@pytest.mark.parametrize(
    "center, side", [((100.7, 50.2), 81.9), ((10.3, 20.6), 40.5), ((150.5, 90.5), 33.99), ((60.25, 70.75), 50.5)]
)
def test_boxes_are_cut_as_the_courses_crop_cuts_them(center, side):
    """Rules out hmrlib's earlier int() of the corner and of the side (a side one pixel short
    where SPIN's corners truncate apart) and rounding: the crop equals the course's, pixel for pixel."""
    image = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    expected, (ul, br) = spin_crop(image, center, side / 200, 224)
    cut = course_box(center, side)
    assert pixel_box(*cut) == (ul[0], ul[1], br[0] - ul[0], br[1] - ul[1])
    assert np.array_equal(crop_square(image, *cut, 224), expected)
    if center == (10.3, 20.6):  # a corner left of the image: int() truncates towards zero, -9.95 -> -9
        assert pixel_box(*cut)[0] == -9


def test_the_courses_box_is_often_a_pixel_longer_and_sometimes_not_square():
    rng = np.random.default_rng(1)
    boxes = [(rng.uniform(50, 950, 2), rng.uniform(100, 600)) for _ in range(500)]
    sizes = np.array([pixel_box(*course_box(c, s))[2:] for c, s in boxes])
    longer = np.mean(sizes[:, 0] == np.array([int(s) + 1 for _, s in boxes]))
    assert 0.2 < longer < 0.8 and 0.1 < np.mean(sizes[:, 0] != sizes[:, 1]) < 0.8


def test_a_course_box_maps_crop_pixels_back_onto_the_image():
    center, side = course_box((100.7, 50.2), 81.9)
    to_image = crop_to_image(center, side, 224)
    left, top, width, height = pixel_box(center, side)
    corners = to_image @ np.array([[-0.5, -0.5, 1.0], [223.5, 223.5, 1.0]]).T
    assert np.allclose(corners[:2].T, [[left - 0.5, top - 0.5], [left + width - 0.5, top + height - 0.5]])


def test_the_dataset_cuts_its_boxes_the_courses_way_unless_told_to_round(small_root):
    truncated, rounded = H36MDataset(small_root), H36MDataset(small_root, box_rounding="round")
    center, side = rounded.box(0)
    assert np.allclose(truncated.box(0)[0], course_box(center, side)[0])
    assert np.array_equal(truncated.box(0)[1], course_box(center, side)[1])
    with pytest.raises(ValueError, match="box_rounding"):
        H36MDataset(small_root, box_rounding="floor")
