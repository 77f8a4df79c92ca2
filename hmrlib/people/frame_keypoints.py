"""BlazePose's keypoints for a dataset's frames, found as predict finds them: the detector on
the whole frame; of the people found, the one whose box lies nearest the frame's labelled box
(a frame of the course holds one person). Frames where nobody is found get confidence 0 (the
fit leaves them as the network gave them). Kept in a .npz beside the run, keyed by the frames'
ids, since the detector takes a fifth of a second a frame on two CPU cores."""

from pathlib import Path

import numpy as np

from hmrlib.progress import progress_bar


def detect_frame_keypoints(dataset, indices, detector, cache: Path | None = None, progress: bool = True) -> np.ndarray:
    """(N, 33, 3) x, y in pixels and visibility for ``indices`` of ``dataset``."""
    ids = np.array([dataset.sample_id(i) for i in indices])
    if cache is not None and Path(cache).exists():
        with np.load(cache, allow_pickle=False) as saved:
            if np.array_equal(saved["ids"], ids):
                return saved["keypoints"]
    keypoints = np.zeros((len(ids), 33, 3), np.float32)
    with progress_bar(len(ids), desc="BlazePose on frames", unit="frame", disable=not progress) as bar:
        for row, index in enumerate(indices):
            people = detector(dataset.image(index))
            if people:
                centre = dataset.box(index)[0]
                nearest = min(people, key=lambda person: np.linalg.norm(np.asarray(person.box[0]) - centre))
                keypoints[row] = nearest.keypoints
            bar.update(1)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=ids, keypoints=keypoints)
    return keypoints
