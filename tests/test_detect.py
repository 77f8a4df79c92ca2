"""The person detector on photographs that ship with installed packages (scikit-image's astronaut
and camera, matplotlib's Grace Hopper), alone and pasted side by side at different sizes."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import skimage.data
from PIL import Image

from hmrlib.people.detect import PersonDetector

GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
# each person's face, (left, top, right, bottom) in the photograph's pixels, read off the photos
FACES = {"astronaut": (175, 40, 255, 170), "camera": (160, 65, 265, 190), "grace_hopper": (110, 130, 290, 320)}


def photo(name: str) -> np.ndarray:
    if name == "grace_hopper":
        return np.asarray(Image.open(GRACE_HOPPER).convert("RGB"))
    return np.asarray(Image.open(Path(skimage.data.__file__).parent / f"{name}.png").convert("RGB"))


def box_contains(box, region) -> bool:
    (cx, cy), side = box
    left, top, right, bottom = region
    return cx - side / 2 <= left and cy - side / 2 <= top and cx + side / 2 >= right and cy + side / 2 >= bottom


@pytest.fixture(scope="module")
def detector():
    found = PersonDetector(max_people=4)
    yield found
    found.close()


@pytest.mark.parametrize("name", list(FACES))
def test_finds_the_person_in_each_photograph(detector, name):
    image = photo(name)
    people = detector(image)
    assert len(people) == 1
    assert box_contains(people[0].box, FACES[name])
    assert people[0].box[1] < 1.5 * max(image.shape[:2])  # the person's box, not a blind guess
    assert people[0].keypoints.shape == (33, 3)


def paste(canvas, image, left, top, scale):
    small = np.asarray(Image.fromarray(image).resize((round(image.shape[1] * scale), round(image.shape[0] * scale))))
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return [(v * scale + offset) for v, offset in zip((0, 0, image.shape[1], image.shape[0]), (left, top, left, top))]


def test_two_people_pasted_side_by_side_give_two_boxes_largest_first(detector):
    canvas = np.full((560, 900, 3), 235, np.uint8)
    big = paste(canvas, photo("astronaut"), 0, 20, 1.0)  # 512 px
    small = paste(canvas, photo("camera"), 560, 150, 0.6)  # 307 px
    people = detector(canvas)
    assert len(people) == 2 and people[0].box[1] > people[1].box[1]
    for person, region, face in zip(people, (big, small), ("astronaut", "camera")):
        (cx, cy), side = person.box
        assert region[0] <= cx <= region[2] and region[1] <= cy <= region[3]  # on its own photo
        assert side < canvas.shape[1] * 0.8  # not the whole canvas
        scale = (region[2] - region[0]) / photo(face).shape[1]
        assert box_contains(person.box, [v * scale + o for v, o in zip(FACES[face], region[:2] * 2)])


def test_an_empty_picture_has_nobody(detector):
    assert detector(np.full((300, 300, 3), 128, np.uint8)) == []
