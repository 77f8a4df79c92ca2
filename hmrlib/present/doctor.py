"""``python -m hmrlib doctor``: what a user checks on their machine before a long job.

Versions (torch, CUDA, cuDNN), the device, offscreen rendering, whether ImageNet weights and an
SMPL file are found, the data folder's layout against the profile's subjects, then 20 timed
training steps of each Table 1 variant at the profile's size (median ms/step, images/s, peak GPU
memory) and how long the profile's training steps will take. On a CPU machine the same checks run
at the CPU's sizes (the ``cpu`` profile by default).
"""

import os
import platform
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hmrlib.constants import VARIANT_NAMES, VARIANTS


def report(profile_name: str, data_root=None, steps: int = 20, say=print) -> dict:
    """Run every check, printing a line each through ``say``; returns the timings per variant."""
    from hmrlib.train import profile

    config = profile(profile_name, data_root=data_root)
    say(f"hmrlib doctor — profile {profile_name}")
    _versions(say)
    _rendering(say)
    _weights(say)
    _body_model(say)
    if not _data(config, say):
        return {}
    return _timings(profile_name, config, steps, say)


def _versions(say):
    say(
        f"  Python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}, "
        f"cuDNN {torch.backends.cudnn.version() or 'none'}"
    )
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            say(f"  GPU {index}: {properties.name}, {properties.total_memory / 2**30:.0f} GiB")
    else:
        say(f"  no GPU: CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
        problem = unusable_gpu()
        if problem:
            say(f"  GPU present but not usable: {problem}")


def unusable_gpu(nvidia_devices=None) -> str | None:
    """Why torch sees no CUDA device on a machine that has an NVIDIA GPU (its /dev/nvidia<N>
    nodes), as one line with what to install; None where there is no such GPU or torch uses it."""
    devices = sorted(Path("/dev").glob("nvidia[0-9]*")) if nvidia_devices is None else nvidia_devices
    if not devices or torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return (
            f"this torch {torch.__version__} is a CPU build; install a CUDA build of the same version "
            "(pip install torch torchvision --index-url https://download.pytorch.org/whl/cu128, or your server's own)"
        )
    return (
        f"torch {torch.__version__} is built for CUDA {torch.version.cuda} but cannot use the GPU: the NVIDIA "
        f"driver is probably older than that CUDA needs; update the driver or install a torch built for an older CUDA"
    )


def _rendering(say):
    try:
        from hmrlib.camera import Intrinsics
        from hmrlib.render import Renderer

        corners = np.array([[-0.5, -0.5, 3.0], [0.5, -0.5, 3.0], [0.0, 0.5, 3.0]])  # camera frame, facing it
        _, depth = Renderer().render([(corners, np.array([[0, 2, 1]]), (1, 0, 0, 1))], Intrinsics.from_fov(64, 64))
        ok = (depth > 0).mean() > 0.05
        say(f"  rendering (pyrender, {os.environ.get('PYOPENGL_PLATFORM', '?')}): {'ok' if ok else 'drew nothing'}")
    except Exception as err:  # a broken OpenGL stack shows up in many ways; report it, go on
        say(f"  rendering: FAILED ({type(err).__name__}: {err}) — see the README's notes on EGL/OSMesa")


def _weights(say):
    from hmrlib.models.weights import WEIGHT_FILES, checkpoints_dir, find_imagenet_weights

    for architecture in WEIGHT_FILES:
        path = find_imagenet_weights(architecture)
        where = path or (
            f"not found in {checkpoints_dir()} (training starts from scratch; "
            f"`python -m hmrlib fetch-weights {architecture}` downloads them when online)"
        )
        say(f"  ImageNet weights for {architecture}: {where}")


def _body_model(say):
    from hmrlib.body import load_body_model

    body = load_body_model()
    kind = "the stand-in (set HMRLIB_BODY_MODEL to an SMPL file for the paper's numbers)" if body.is_standin else "SMPL"
    say(f"  body model: {kind}, {body.num_vertices} vertices, from {body.source}")


def _data(config, say) -> bool:
    from hmrlib.data.h36m import data_label

    root = Path(config.data.root)
    params = root / "H36M_data_st"
    if not params.is_dir():
        say(
            f"  data: {params} does not exist — build SynthH36M (python -m hmrlib synth) "
            "or point --data at the course data"
        )
        return False
    frames = {
        s.name: sum(1 for seq in s.iterdir() if seq.is_dir() for _ in seq.glob("*.npz"))
        for s in sorted(params.iterdir())
        if s.is_dir()
    }
    say(f"  data: {data_label(root)} in {root}: " + ", ".join(f"{s} {n}" for s, n in frames.items()) + " frames")
    data = config.data
    for role, subjects in (
        ("train", data.train_subjects),
        ("validation", data.val_subjects),
        ("test", data.test_subjects),
    ):
        missing = [s for s in subjects if s not in frames]
        if missing:
            say(f"    {role} subjects missing: {' '.join(missing)}")
    return any(s in frames for s in config.data.train_subjects)


def _timings(profile_name: str, config, steps: int, say) -> dict:
    from hmrlib.data.dataset import H36MDataset
    from hmrlib.train import Trainer, profile
    from hmrlib.train.timing import first_batch, median_seconds
    from hmrlib.train.waits import WaitCounter

    data = config.data
    subject = next(s for s in data.train_subjects if (Path(data.root) / "H36M_data_st" / s).is_dir())
    part = H36MDataset(
        data.root, subjects=[subject], image_size=data.image_size, box_rounding=data.box_rounding, progress=False
    )
    say(
        f"  timing {steps} training steps per variant at {data.image_size}x{data.image_size}, "
        f"batch {config.optim.batch_size}, on {len(part)} frames of {subject}:"
    )
    timings = {}
    for variant in VARIANTS:
        run = profile(profile_name, variant, data_root=data.root, pretrained="if-available")
        run = replace(run, data=replace(run.data, require_smpl=False))  # what is found was reported above
        with tempfile.TemporaryDirectory() as run_dir, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = Trainer(run, run_dir, progress=False, datasets=(part, part))
            device = trainer.device
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            batch = first_batch(part, run.optim.batch_size, device)
            seconds = median_seconds(lambda: trainer.step(batch), steps, device)  # noqa: B023 (called here)
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
            with WaitCounter() as waits:  # what would make the host wait for a GPU, counted on any device
                trainer.step(batch)
        timings[variant] = {
            "ms_per_step": 1000 * seconds,
            "images_per_s": run.optim.batch_size / seconds,
            "peak_gib": peak,
            "hours": seconds * run.optim.iterations / 3600,
            "waits_per_step": waits.total,
        }
        memory = f", peak GPU memory {peak:.1f} GiB" if peak is not None else ""
        say(
            f"    {VARIANT_NAMES[variant]}: {1000 * seconds:.0f} ms/step (median), "
            f"{run.optim.batch_size / seconds:.0f} images/s{memory}, {waits.total} waits for the device a step; "
            f"{run.optim.iterations} steps: {_duration(timings[variant]['hours'])}"
        )
        for place, count in waits.places.most_common(5):
            say(f"      waits {count} x at {place}")
    total = sum(t["hours"] for t in timings.values())
    say(
        f"  profile {profile_name}: {config.optim.iterations} iterations x 3 variants = {_duration(total)} of training "
        f"steps per seed (validation, evaluation and building the crop cache come on top)"
    )
    return timings


def _duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours >= 1 else f"{60 * hours:.0f} min"
