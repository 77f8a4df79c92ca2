"""The front of ``predict``: what the user gave (images, folders, videos) -> one batched path.

Folders are expanded (their own files, sorted), every input gets an output name of its own (two
inputs with one stem, ``a.png`` and ``a.jpg`` or ``x/a.png`` and ``y/a.png``, are told apart by
their suffix, then by their folders), and images and videos go to :mod:`hmrlib.people.predict`
and :mod:`hmrlib.people.video`. Whatever fails for one input — reading, decoding, detecting,
predicting, writing — is reported by name in one line and the others are done; the caller gets
(written files, [(input, problem)]) to summarise.
"""

from pathlib import Path

from PIL import Image

from hmrlib.people.predict import (
    MAX_MEGAPIXELS,
    Job,
    Prediction,
    find_jobs,
    one_line,
    overlay,
    predict_jobs,
    read_rgb,
    save_prediction,
)
from hmrlib.people.video import predict_video
from hmrlib.progress import progress_bar

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}


def expand_inputs(paths) -> list[Path]:
    """Files as given; a folder's files, sorted (its sub-folders are left alone)."""
    files = []
    for path in map(Path, paths):
        files += sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    return files


def output_names(files: list[Path]) -> dict[Path, str]:
    """A distinct output stem for every input: its stem; where stems collide, stem_suffix
    (a_png, a_jpg); where those collide too, the folders' names before it (x_a_png, y_a_png)."""

    def name(path: Path, folders: int) -> str:  # the stem and suffix, after the last ``folders`` folders
        parents = path.resolve().parent.parts
        return "_".join([*parents[len(parents) - folders :], path.stem, path.suffix.lstrip(".").lower()])

    names = {path: path.stem for path in files}
    for folders in range(64):  # the stem alone first; then with the suffix; then with k folders too
        clashes = [p for p in files if [names[q] for q in files].count(names[p]) > 1]
        if not clashes:
            return names
        for path in clashes:
            names[path] = name(path, folders)
    raise AssertionError("distinct inputs always get distinct names")


def predict_files(
    generator,
    body,
    paths,
    out_dir,
    bbox=None,
    image_size: int = 224,
    detector=None,
    batch_size: int = 16,
    smoothing: bool = True,
    progress: bool = True,
    max_megapixels: float = MAX_MEGAPIXELS,
    fitter=None,
) -> tuple[list, list]:
    """Predict every image (and video) in ``paths`` (files or folders), each detected person fitted
    to its keypoints where a :class:`~hmrlib.fitting.KeypointFitter` is given. Returns (written,
    [(input, problem)]): a failed input is reported there, by name, and the others are done."""
    files = expand_inputs(paths)
    names = output_names(files)
    written, failed = [], []
    for video in (p for p in files if p.suffix.lower() in VIDEO_SUFFIXES):
        try:
            written += predict_video(
                generator,
                body,
                video,
                out_dir,
                detector,
                bbox,
                image_size,
                batch_size,
                smoothing,
                progress,
                names[video],
                fitter,
            )
        except Exception as err:  # one video's problem ends that video only
            failed.append((str(video), _problem(err, video)))
    images = [p for p in files if p.suffix.lower() not in VIDEO_SUFFIXES]
    batch = _Batch(generator, body, fitter, out_dir, image_size, batch_size, written, failed)
    with progress_bar(len(images), desc="predict", unit="img", disable=not progress or not images) as bar:
        for path in images:
            try:
                image = read_rgb(path, max_megapixels)
                jobs = find_jobs(image, detector, bbox)
            except Exception as err:
                failed.append((str(path), _problem(err, path)))
            else:
                if jobs[0].box_source == "whole image" and detector is not None:
                    print(f"{path}: nobody found; the whole image is taken as the person's box")
                batch.add(path, names[path], jobs)
            bar.update(1)
        batch.flush()
    return written, failed


def _problem(error: Exception, path: Path) -> str:
    """The one line that says what went wrong with an input (without its path twice)."""
    text = one_line(error)
    text = text.split(": ", 1)[1] if text.startswith(f"{path}: ") else text
    return text if getattr(error, "path", None) is not None else f"{type(error).__name__}: {text}"


class _Batch:
    """People of several images through the generator together; each image's files once its
    people are predicted. A batch that fails is retried image by image, so only the image at
    fault is reported."""

    def __init__(self, generator, body, fitter, out_dir, image_size: int, batch_size: int, written: list, failed: list):
        self.generator, self.body, self.fitter, self.out_dir = generator, body, fitter, Path(out_dir)
        self.image_size, self.batch_size, self.written, self.failed = image_size, batch_size, written, failed
        self.pending: list[tuple[Path, str, list[Job]]] = []

    def add(self, path: Path, name: str, jobs: list[Job]):
        if sum(len(j) for *_, j in self.pending) + len(jobs) > self.batch_size:
            self.flush()
        self.pending.append((path, name, jobs))

    def flush(self):
        pending, self.pending = self.pending, []
        if not pending:
            return
        try:
            jobs = [job for *_, image_jobs in pending for job in image_jobs]
            predictions = predict_jobs(self.generator, self.body, jobs, self.image_size, self.fitter)
        except Exception as err:
            if len(pending) == 1:
                self.failed.append((str(pending[0][0]), _problem(err, pending[0][0])))
                return
            for item in pending:  # again one image at a time: only the one at fault is reported
                self.pending = [item]
                self.flush()
            return
        start = 0
        for path, name, image_jobs in pending:
            try:
                self.written += self._save(predictions[start : start + len(image_jobs)], name)
            except Exception as err:
                self.failed.append((str(path), _problem(err, path)))
            start += len(image_jobs)

    def _save(self, predictions: list[Prediction], name: str) -> list[Path]:
        files = []
        for k, prediction in enumerate(predictions):
            files += save_prediction(prediction, self.body.faces, self.out_dir, f"{name}_p{k}")
        files.append(self.out_dir / f"{name}_overlay.png")
        Image.fromarray(overlay(predictions, self.body.faces)).save(files[-1])
        return files
