"""Which offline person detector: MediaPipe's BlazePose (hmrlib.people.detect) against OpenCV's
HOG people detector, on photographs that ship with installed packages (scikit-image's astronaut
and cameraman, matplotlib's Grace Hopper) and on two of them pasted into one canvas. A box counts
as right when its square contains the person's face (read off the photographs, as in
tests/test_detect.py) and is less than 1.5 x the image's larger side (a bust's box, 1.2 x the
body's extent, may pass the frame; a box around everything may not).

    python benchmarks/bench_detector.py
"""

import time
from pathlib import Path

import numpy as np

FACES = {"astronaut": (175, 40, 255, 170), "camera": (160, 65, 265, 190), "grace_hopper": (110, 130, 290, 320)}


def photo(name):
    import matplotlib
    import skimage.data
    from PIL import Image

    if name == "grace_hopper":
        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    else:
        path = Path(skimage.data.__file__).parent / f"{name}.png"
    return np.asarray(Image.open(path).convert("RGB"))


def scenes():
    """(name, image, [face regions]) for each photograph and for a two-person canvas."""
    from PIL import Image

    out = [(name, photo(name), [face]) for name, face in FACES.items()]
    canvas = np.full((560, 900, 3), 235, np.uint8)
    canvas[20:532, :512] = photo("astronaut")
    canvas[150:457, 560:867] = np.asarray(Image.fromarray(photo("camera")).resize((307, 307)))
    small = [v * 0.6 + o for v, o in zip(FACES["camera"], (560, 150, 560, 150))]
    out.append(("two people", canvas, [[v + o for v, o in zip(FACES["astronaut"], (0, 20, 0, 20))], small]))
    return out


def contains(box, face):
    (cx, cy), side = box
    return (
        cx - side / 2 <= face[0] and cy - side / 2 <= face[1] and cx + side / 2 >= face[2] and cy + side / 2 >= face[3]
    )


def score(boxes, faces, image):
    right = sum(any(contains(b, f) and b[1] < 1.5 * max(image.shape[:2]) for b in boxes) for f in faces)
    return right, len(boxes) - right


def mediapipe_boxes(detector):
    return lambda image: [person.box for person in detector(image)]


def hog_boxes():
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(image):
        rects, _ = hog.detectMultiScale(np.ascontiguousarray(image), winStride=(8, 8), padding=(8, 8), scale=1.05)
        return [(np.array([x + w / 2, y + h / 2]), 1.2 * max(w, h)) for x, y, w, h in rects]

    return detect


def main():
    from hmrlib.people.detect import PersonDetector

    for label, detect in (
        ("MediaPipe BlazePose", mediapipe_boxes(PersonDetector(max_people=4))),
        ("OpenCV HOG", hog_boxes()),
    ):
        found = wrong = people = 0
        start = time.perf_counter()
        for name, image, faces in scenes():
            right, extra = score(detect(image), faces, image)
            print(f"{label:20s} {name:13s}: {right} of {len(faces)} people found, {extra} other boxes")
            found, wrong, people = found + right, wrong + extra, people + len(faces)
        ms = 1000 * (time.perf_counter() - start) / len(scenes())
        print(f"{label:20s} total: {found} of {people} people, {wrong} other boxes, {ms:.0f} ms an image\n")


if __name__ == "__main__":
    main()
