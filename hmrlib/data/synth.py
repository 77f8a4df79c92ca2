"""SynthH36M: a synthetic, Human3.6M-shaped dataset in the course's exact on-disk layout.

``generate(out, size, seed)`` renders every (subject, action) of the chosen size from the four
cameras and writes npz + JPEG files as the course does (see hmrlib.data.h36m). Work units are
(subject, action) pairs, each seeded from (seed, subject, action) alone, so the output does not
depend on the number of processes or on interruptions; finished units are recorded under
``<out>/.synth/`` and skipped on the next run.

Images are rendered at ``render_scale`` × Human3.6M's resolution (1000×1000 / 1000×1002) with
the intrinsics scaled to match; ``<out>/synth_manifest.json`` records them and the extrinsics.
"""

import json
import multiprocessing
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hmrlib.camera import to_camera
from hmrlib.data.crop import BOX_MARGIN, box_fraction_inside
from hmrlib.data.h36m import (
    ACTIONS,
    BOX_PIXELS_PER_SCALE,
    CAMERAS,
    FIT_SUBJECTS,
    SYNTH_MANIFEST,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    image_path,
    params_path,
    sequence_name,
    synth_settings,
)
from hmrlib.errors import ConfigError
from hmrlib.progress import progress_bar
from hmrlib.seeding import seed_words


class SizeLayout(NamedTuple):
    subjects: tuple
    fitting_frames: int  # frames per sequence (at FPS) of the fitting subjects
    held_out_frames: int  # of the validation and test subjects
    fitting_step: int  # the fitting subjects' default frame step


SIZES = {
    "tiny": SizeLayout(("S1", "S8", "S9"), 4, 4, 1),  # one subject per role: fit, validation, test
    # validation and test need a few hundred frames, not thousands: the held-out subjects get one
    # frame in six over the same seconds of motion (S8 480 frames, S9 + S11 960; 12,960 in all);
    # the fitting subjects' 48 frames spread over 57.6 s of each motion (docs/experiments.md, e36)
    "small": SizeLayout(TRAIN_SUBJECTS + TEST_SUBJECTS, 48, 8, 6),
    "full": SizeLayout(TRAIN_SUBJECTS + TEST_SUBJECTS, 240, 240, 1),
}
FPS = 5.0
SEATED_ACTIONS = ("Eating", "Sitting", "SittingDown")
# SynthH36M's generator versions of the people's looks, recorded in each folder's manifest
LOOKS = {
    1: "one body and outfit per subject; no face, clothes alike front and back (made before issue 17)",
    2: "a body and outfit per sequence; a face, shirt prints, collars, belts, pockets and toe caps at the front",
}
MIN_BOX_INSIDE = 0.7  # at least this share of every box lies inside its image (the rest is padded)


@dataclass(frozen=True)
class SynthConfig:
    size: str = "small"
    seed: int = 0
    render_scale: float = 0.32
    jpeg_quality: int = 90
    body_model: str | None = None  # None: the stand-in
    # time between a fitting subject's frames, in units of 1 / FPS; None: the size's default.
    # In small, 1 renders 48 consecutive frames at 5 fps (9.6 s of each motion); the default 6
    # spreads the same frames over 57.6 s, more distinct poses for the same number of images,
    # which a long run needs (docs/experiments.md, e35/e36)
    frame_step: int | None = None
    looks: int = 2  # the people's looks (LOOKS); folders made before this setting are looks 1

    def __post_init__(self):
        if self.size not in SIZES:
            raise ConfigError(f"SynthH36M size must be one of {', '.join(SIZES)}; got {self.size!r}")
        if self.frame_step is None:  # resolved here so the manifest records the number used
            object.__setattr__(self, "frame_step", SIZES[self.size].fitting_step)
        if self.frame_step < 1:
            raise ConfigError(f"SynthH36M frame_step must be at least 1; got {self.frame_step}")
        if self.looks not in LOOKS:
            raise ConfigError(f"SynthH36M looks must be one of {', '.join(map(str, LOOKS))}; got {self.looks!r}")

    @property
    def subjects(self):
        return SIZES[self.size].subjects

    @property
    def frames_per_sequence(self):
        """The fitting subjects'; :meth:`frames_of` gives any subject's."""
        return SIZES[self.size].fitting_frames

    def frames_of(self, subject: str) -> int:
        layout = SIZES[self.size]
        return layout.fitting_frames if subject in FIT_SUBJECTS else layout.held_out_frames

    def step_of(self, subject: str) -> int:
        """Time between a subject's rendered frames, in units of 1 / FPS: ``frame_step`` for the
        fitting subjects; the held-out ones span the seconds of the fitting subjects' default
        frames, sparser, whatever ``frame_step`` (so validation and test never change with it)."""
        if subject in FIT_SUBJECTS:
            return self.frame_step
        return self.frames_per_sequence // self.frames_of(subject)

    def cameras(self):
        return {name: camera.scaled(self.render_scale) for name, camera in CAMERAS.items()}


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng(seed_words(seed, *names))


class _Worker:
    """Per-process state: the body model, one OpenGL context, the fixed cameras."""

    def __init__(self, config: SynthConfig, out: Path):
        from hmrlib.body import load_body_model
        from hmrlib.data.scene import corner_cameras
        from hmrlib.render import Renderer

        self.config, self.out = config, out
        self.body = load_body_model(config.body_model)
        self.intrinsics = config.cameras()
        self.cameras = list(self.intrinsics)
        self.extrinsics = corner_cameras(_rng(config.seed, "cameras"), list(self.cameras))
        self.renderer = Renderer()

    def subject(self, subject: str, action: str):
        """Betas (10,) and per-vertex colours (V, 4) of a subject in an action: looks 1, the same
        in every action; looks 2, a new body and outfit per sequence (more distinct people to
        learn from, in the course's layout: the subject's name stays)."""
        from hmrlib.data.scene import subject_look

        names = ("subject", subject) if self.config.looks == 1 else ("subject", subject, action)
        rng = _rng(self.config.seed, *names)
        betas = np.clip(rng.normal(size=self.body.num_betas), -2.5, 2.5)
        weights = self.body.smpl.lbs_weights.numpy()
        rest = self.body.smpl.v_template.numpy()
        return betas, subject_look(rng, weights, rest, heading_cues=self.config.looks >= 2)

    def _keep_in_view(self, vertices: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """Pull a floor path (T, 2) towards the room centre until, in every camera and frame, at
        least MIN_BOX_INSIDE of the person's box lies inside the image. vertices: (T, V, 3) with
        the feet on the floor at (x, z) = 0."""
        sparse = vertices[:, ::8]
        for _ in range(30):
            placed = sparse + np.stack([floor[:, 0], np.zeros(len(floor)), floor[:, 1]], 1)[:, None]
            worst = 1.0
            for name, intrinsics in self.intrinsics.items():
                pixels = intrinsics.project(to_camera(placed, *self.extrinsics[name]))  # (T, V', 2)
                low, high = pixels.min(1), pixels.max(1)
                for lo, hi in zip(low, high):
                    side = BOX_MARGIN * (hi - lo).max()
                    worst = min(worst, box_fraction_inside(0.5 * (lo + hi), side, intrinsics.width, intrinsics.height))
            if worst >= MIN_BOX_INSIDE:
                return floor
            floor = 0.85 * floor
        raise RuntimeError("could not fit the person inside every camera's view")

    def _chair(self, vertices, floor, global_orient, rng):
        """A chair under the pelvis at its lowest: the seat meets the buttocks."""
        from scipy.spatial.transform import Rotation

        from hmrlib.data.scene import chair

        pelvis_part = self.body.smpl.lbs_weights.numpy().argmax(1) == 0
        lowest = vertices[:, pelvis_part, 1].min(1)
        seated = lowest.argmin()
        yaw = Rotation.from_rotvec(global_orient[seated]).as_euler("YXZ")[0]
        backward = -np.array([np.sin(yaw), np.cos(yaw)]) * 0.08
        return chair(floor[seated] + backward, yaw, float(lowest[seated]), rng)

    def run(self, subject: str, action: str, silhouettes: dict | None = None) -> int:
        import torch
        from PIL import Image
        from scipy.spatial.transform import Rotation

        from hmrlib.data.actions import generate_action
        from hmrlib.data.scene import random_lights, room_background

        rng = _rng(self.config.seed, subject, action)
        betas, colours = self.subject(subject, action)
        num = self.config.frames_of(subject)
        t = rng.uniform(0, 60) + np.arange(num) * self.config.step_of(subject) / FPS
        motion = generate_action(action, t, rng)
        with torch.no_grad():
            out = self.body(
                global_orient=torch.as_tensor(motion.global_orient, dtype=torch.float32),
                body_pose=torch.as_tensor(motion.body_pose, dtype=torch.float32),
                betas=torch.as_tensor(betas, dtype=torch.float32).expand(num, -1),
            )
            pivot = (
                self.body(
                    global_orient=torch.zeros(1, 3),
                    body_pose=torch.zeros(1, 69),
                    betas=torch.as_tensor(betas, dtype=torch.float32)[None],
                )
                .joints[0, 0]
                .numpy()
            )
        vertices = out.vertices.numpy().astype(np.float64)  # (T, V, 3), pelvis near the origin
        vertices[..., 1] -= vertices[..., 1].min(1, keepdims=True)  # feet on the floor
        floor = self._keep_in_view(vertices, motion.floor_position)
        transl = np.stack([floor[:, 0], -out.vertices.numpy()[..., 1].min(1), floor[:, 1]], 1)
        vertices[..., [0, 2]] += floor[:, None]
        world_orient = Rotation.from_rotvec(motion.global_orient)
        props = [self._chair(vertices, floor, motion.global_orient, rng)] if action in SEATED_ACTIONS else []
        lights = random_lights(rng)
        backgrounds = {n: room_background(rng, k, self.extrinsics[n]) for n, k in self.intrinsics.items()}
        files = {
            n: (
                params_path(self.out, subject, sequence_name(action, n), 0).parent,
                image_path(self.out, subject, sequence_name(action, n), 0).parent,
            )
            for n in self.cameras
        }
        for folders in files.values():
            for folder in folders:
                folder.mkdir(parents=True, exist_ok=True)
        for frame in range(num):
            views = [(self.intrinsics[n], self.extrinsics[n], backgrounds[n]) for n in self.cameras]
            rendered = self.renderer.render_views(
                [(vertices[frame], self.body.faces, colours)] + props, views, lights=lights
            )
            if silhouettes is not None:  # for tests: where the scene covers the image
                silhouettes.update(
                    {
                        (subject, sequence_name(action, n), frame): depth > 0
                        for n, (_, depth) in zip(self.cameras, rendered)
                    }
                )
            for (name, intrinsics), (image, _) in zip(self.intrinsics.items(), rendered):
                rotation, translation = self.extrinsics[name]
                pixels = intrinsics.project(to_camera(vertices[frame], rotation, translation))
                low, high = pixels.min(0), pixels.max(0)
                record = {
                    "betas": betas,
                    "root_orient": (Rotation.from_matrix(rotation) * world_orient[frame]).as_rotvec(),
                    "root_loc": rotation @ (pivot + transl[frame]) + translation - pivot,
                    "pose_body": motion.body_pose[frame, :63],
                    "pose_hand": motion.body_pose[frame, 63:],
                    "center_img": 0.5 * (low + high),
                    "scale_img": BOX_MARGIN * (high - low).max() / BOX_PIXELS_PER_SCALE,
                }
                np.savez(
                    params_path(self.out, subject, sequence_name(action, name), frame),
                    **{k: np.asarray(v, dtype=np.float32) for k, v in record.items()},
                )
                Image.fromarray(image).save(
                    image_path(self.out, subject, sequence_name(action, name), frame), quality=self.config.jpeg_quality
                )
        return num * len(self.cameras)


_worker: _Worker | None = None


def _init_worker(config, out):
    """One worker per process, on one thread: the processes share the cores (and the labels'
    body-model numbers must not depend on how many run)."""
    import torch

    global _worker
    torch.set_num_threads(1)
    _worker = _Worker(config, out)


def _run_unit(unit):
    subject, action = unit
    frames = _worker.run(subject, action)
    (_worker.out / ".synth" / f"{subject}.{action}.done").touch()
    return frames


def _manifest(config: SynthConfig, out: Path) -> dict:
    from hmrlib.data.scene import corner_cameras

    extrinsics = corner_cameras(_rng(config.seed, "cameras"), list(CAMERAS))
    return {
        "dataset": "SynthH36M (synthetic, rendered by hmrlib; not Human3.6M)",
        "config": asdict(config),
        "fps": FPS,
        "frames_per_sequence": {subject: config.frames_of(subject) for subject in config.subjects},
        "cameras": {
            n: {**asdict(c), "R": extrinsics[n][0].tolist(), "t": extrinsics[n][1].tolist()}
            for n, c in config.cameras().items()
        },
    }


def describe(root) -> str:
    """One line on the SynthH36M folder ``root``: its size and which looks its generator made."""
    settings = synth_settings(root)
    looks = settings["looks"]
    return f"SynthH36M {settings.get('size', '?')} (looks {looks}: {LOOKS.get(looks, 'unknown to this version')})"


def generate(out, config: SynthConfig = SynthConfig(), processes: int | None = None, progress: bool = True) -> int:
    """Render the dataset under ``out`` (resuming a previous run); returns frames written now."""
    out = Path(out)
    (out / ".synth").mkdir(parents=True, exist_ok=True)
    manifest_path = out / SYNTH_MANIFEST
    manifest = _manifest(config, out)
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_text())
        existing["config"] = {**asdict(SynthConfig()), **synth_settings(out)}
        layout = ("config", "frames_per_sequence")
        if [existing.get(key) for key in layout] != [manifest[key] for key in layout]:
            raise ConfigError(
                f"{out} already holds SynthH36M made with {existing.get('config')} and "
                f"{existing.get('frames_per_sequence', 'the older layout of')} frames per sequence; "
                f"choose another folder or delete it to make {manifest['config']}"
            )
    else:
        manifest_path.write_text(json.dumps(manifest, indent=1))
    units = [(s, a) for s in config.subjects for a in ACTIONS if not (out / ".synth" / f"{s}.{a}.done").exists()]
    processes = max(1, min(processes or os.cpu_count() or 1, len(units) or 1))
    written = 0
    total = sum(config.frames_of(subject) for subject, _ in units) * len(CAMERAS)
    with progress_bar(total, unit="img", desc=f"SynthH36M {config.size}", disable=not progress) as bar:
        if processes == 1:  # here: the caller's torch gets its thread count back afterwards
            import torch

            caller_threads = torch.get_num_threads()
            _init_worker(config, out)
            results = map(_run_unit, units)
        else:
            pool = multiprocessing.get_context("spawn").Pool(processes, _init_worker, (config, out))
            results = pool.imap_unordered(_run_unit, units)
        try:
            for frames in results:
                written += frames
                bar.update(frames)
        finally:
            if processes == 1:
                torch.set_num_threads(caller_threads)
        if processes > 1:
            pool.close()
            pool.join()
    return written
