"""Videos: one mesh a frame for the largest person, smoothed over time, and an overlaid video.

Frames are read and written with imageio-ffmpeg, which ships its own ffmpeg binary. For
``<name>.mp4`` (or .mov, .avi, .mkv, .webm) it writes
  <name>_overlay.mp4   the mesh over every frame
  <name>_params.npz    per-frame arrays with smplx's names (global_orient (T, 3), body_pose (T, 69),
                       betas (T, 10), transl (T, 3)), the boxes (T, 3: cx, cy, side), fps
  <name>_params.csv    the same, one row per frame
The person is the detector's largest in each frame (the previous frame's box where it finds
nobody, the whole frame before anyone is found). With ``smoothing`` (the default) the boxes and
the parameters go through a One-Euro filter (:mod:`hmrlib.people.smoothing`) before the meshes
are placed and drawn.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hmrlib.errors import HmrlibError
from hmrlib.people.predict import Job, find_jobs, overlay, placed_predictions, predict_jobs
from hmrlib.people.smoothing import one_euro, smooth_parameters
from hmrlib.progress import progress_bar


class VideoReadError(HmrlibError, ValueError):
    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def read_video(path) -> tuple[list[np.ndarray], float]:
    """Every frame (H, W, 3) uint8 that can be read, and the frame rate; a video that ends early
    or breaks off keeps the frames before, and says how many it skipped; VideoReadError naming
    the file where no frame can be read."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise VideoReadError(path, "no such file")
    frames, stopped = [], None
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        for raw in reader:
            if len(raw) != width * height * 3:  # a frame cut short
                stopped = f"frame {len(frames)} is {len(raw)} bytes, not {width * height * 3}"
                break
            frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
    except Exception as err:  # ffmpeg's and imageio's errors come in many kinds
        stopped = f"{type(err).__name__}: {' '.join(str(err).split('=== stderr ===')[0].split())[:200]}"
    if not frames:
        raise VideoReadError(path, f"not a readable video ({stopped or 'no frames'})")
    fps = float(meta.get("fps") or 25.0)
    expected = int(round(float(meta.get("duration") or 0) * fps))
    if stopped or len(frames) < expected - 1:  # the container's duration is approximate by a frame
        print(
            f"{path}: kept the {len(frames)} frames that could be read, skipped about "
            f"{max(expected - len(frames), 0)} of {expected}" + (f" ({stopped})" if stopped else "")
        )
    return frames, fps


def write_video(path, frames: list[np.ndarray], fps: float):
    """H.264 in yuv420p, which needs an even width and height: an odd one gets a black pixel row
    or column added."""
    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    writer = imageio_ffmpeg.write_frames(
        str(path), (width + width % 2, height + height % 2), fps=fps, macro_block_size=1, quality=7
    )
    writer.send(None)  # start the encoder
    for frame in frames:
        writer.send(np.ascontiguousarray(np.pad(frame, pad)))
    writer.close()


def track_boxes(frames, detector, bbox=None) -> tuple[list[Job], int]:
    """A job a frame for its largest person; (jobs, frames where someone was found)."""
    jobs, found, last = [], 0, None
    for frame in frames:
        job = find_jobs(frame, detector, bbox)[0]  # largest first
        if job.box_source == "whole image" and last is not None:
            job = Job(frame, last.box, "previous frame's")
        found += job.box_source in ("detected", "given")
        jobs.append(job)
        last = job
    return jobs, found


@torch.no_grad()
def predict_video(
    generator,
    body,
    path,
    out_dir,
    detector=None,
    bbox=None,
    image_size: int = 224,
    batch_size: int = 16,
    smoothing: bool = True,
    progress: bool = True,
    name: str | None = None,
    fitter=None,
) -> list[Path]:
    """Predict every frame of the video at ``path`` (module docstring), each frame's person fitted
    to its keypoints where a :class:`~hmrlib.fitting.KeypointFitter` is given; the files
    written, named after ``name`` (default: the video's stem)."""
    path, out_dir = Path(path), Path(out_dir)
    frames, fps = read_video(path)
    jobs, found = track_boxes(frames, detector, bbox)
    if not found:
        print(f"{path}: nobody found in any frame; the whole frame is taken as the person's box")
    boxes = np.array([[*job.box[0], job.box[1]] for job in jobs])  # (T, 3)
    if smoothing and len(jobs) > 1:
        boxes = one_euro(boxes, fps)
        jobs = [
            Job(job.image, (box[:2], float(box[2])), job.box_source, job.keypoints) for job, box in zip(jobs, boxes)
        ]
    predictions = []
    with progress_bar(len(jobs), desc=f"{path.name}", unit="frame", disable=not progress) as bar:
        for start in range(0, len(jobs), batch_size):
            predictions += predict_jobs(generator, body, jobs[start : start + batch_size], image_size, fitter)
            bar.update(len(jobs[start : start + batch_size]))
    pose = np.stack([p.pose for p in predictions])
    betas = np.stack([p.betas for p in predictions])
    transl = np.stack([p.transl for p in predictions])
    if smoothing:
        pose, betas = smooth_parameters(pose, betas, fps)
        # a fitted frame's translation is the fit's: smoothed like the rest, not placed again from the box
        fitted = any(p.fit is not None and p.fit["kept"] for p in predictions)
        transl = one_euro(transl, fps) if fitted else None
        predictions = _replaced(predictions, pose, betas, body, transl)
        transl = np.stack([p.transl for p in predictions])
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name or path.stem
    written = [out_dir / f"{stem}_params.npz", out_dir / f"{stem}_params.csv", out_dir / f"{stem}_overlay.mp4"]
    arrays = {"global_orient": pose[:, :3], "body_pose": pose[:, 3:], "betas": betas, "transl": transl}
    np.savez(written[0], **{k: v.astype(np.float32) for k, v in arrays.items()}, boxes=boxes, fps=fps)
    columns = {"frame": np.arange(len(pose)), "seconds": np.arange(len(pose)) / fps}
    columns.update({"box_cx": boxes[:, 0], "box_cy": boxes[:, 1], "box_side": boxes[:, 2]})
    for name, values in arrays.items():
        columns.update({f"{name}_{i}": values[:, i] for i in range(values.shape[1])})
    pd.DataFrame(columns).to_csv(written[1], index=False)
    write_video(written[2], [overlay([p], body.faces) for p in predictions], fps)
    return written


def _replaced(predictions, pose: np.ndarray, betas: np.ndarray, body, transl: np.ndarray | None = None):
    """The predictions with smoothed parameters, their meshes rebuilt and placed again (from
    their boxes, or at ``transl`` (T, 3) where given)."""
    device = body.smpl.v_template.device
    mesh = body.mesh(torch.as_tensor(pose, device=device), torch.as_tensor(betas, device=device))
    jobs = [Job(p.image, p.box, p.box_source, p.keypoints) for p in predictions]
    replaced = placed_predictions(jobs, [p.crop for p in predictions], pose, betas, mesh)
    for k, (new, old) in enumerate(zip(replaced, predictions)):
        new.network, new.fit = old.network, old.fit
        if transl is not None:  # moved from the box's placement to the given translation
            shift = transl[k] - new.transl
            new.vertices, new.joints, new.transl = new.vertices + shift, new.joints + shift, transl[k]
    return replaced
