"""Checkpoints: written atomically, the last few kept plus the best, read with weights_only=True.

A checkpoint is a dict of tensors and plain Python values only (so ``torch.load(...,
weights_only=True)`` reads it without running code from the file): model and optimiser states,
the scalers, every random-number-generator state, the iteration, the discriminators' noise and
the training configuration as a dict.
"""

import os
import pickle
import random
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from hmrlib.errors import HmrlibError, HmrlibWarning

STEP_PATTERN = re.compile(r"step_(\d+)\.pt$")


class CheckpointError(HmrlibError, RuntimeError):
    """A checkpoint that is missing, unreadable or does not fit the run."""


def save_atomic(state: dict, path: Path):
    """Write to a temporary file in the same folder, then rename: a crash leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def step_checkpoints(folder: Path) -> list[Path]:
    """step_*.pt files, oldest first."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("step_*.pt") if (m := STEP_PATTERN.search(p.name))]
    return [p for _, p in sorted(found)]


def save_step(state: dict, folder: Path, iteration: int, keep: int) -> Path:
    path = Path(folder) / f"step_{iteration:07d}.pt"
    save_atomic(state, path)
    for old in step_checkpoints(folder)[:-keep]:
        old.unlink()
    return path


def latest(folder: Path) -> Path | None:
    found = step_checkpoints(folder)
    return found[-1] if found else None


def load(path, map_location="cpu") -> dict:
    """A checkpoint, read without unpickling arbitrary objects; bad files get a clear error."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # torch's note on files it may refuse
            return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: not a readable hmrlib checkpoint (refused: it holds objects other than tensors and "
            f"plain values, which could run code when loaded)"
        ) from None
    except Exception as err:
        raise CheckpointError(
            f"{path}: not a readable hmrlib checkpoint ({type(err).__name__}: {str(err).splitlines()[0]})"
        ) from None


def rng_state(generators: dict) -> dict:
    """Every RNG the training touches: torch CPU/CUDA, the named torch.Generators, and Python's
    and NumPy's global ones (seeded and restored for any library that draws from them)."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in generators.items()},
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generators: dict):
    torch.set_rng_state(state["torch"])
    random.setstate(_as_tuples(state["python"]))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():  # a run saved with more GPUs resumes on fewer
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)
    moved = []
    for name, generator in generators.items():
        saved = state["generators"][name]
        if saved.shape == generator.get_state().shape:
            generator.set_state(saved)
        else:  # saved by a generator on another kind of device: a stream of its own from here on
            moved.append(name)
    if moved:
        warnings.warn(
            f"the checkpoint's {', '.join(moved)} random streams were drawn on another kind of device: "
            "they start anew from their seed here",
            HmrlibWarning,
            stacklevel=2,
        )


def _as_tuples(value):
    """random.setstate needs the nested tuples that a round trip through a checkpoint may make lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
