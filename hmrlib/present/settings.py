"""Where the notebooks find their data and runs, wherever their kernel starts.

JupyterLab starts a notebook's kernel in the notebook's folder (``notebooks/``), the main job and
a terminal in the repository root. Paths are therefore resolved against the repository (the
folder holding hmrlib's source), never against the working directory:

  HMRLIB_DATA         the course-layout data root        default <repo>/data/synth_small
  HMRLIB_RUNS         the ablation runs                  default <repo>/runs/ablation
  HMRLIB_PREDICT_OUT  predictions on photographs         default <repo>/runs/predict
  HMRLIB_PROFILE      the training profile               default gpu with CUDA, else cpu (train.config.default_profile)
  HMRLIB_SEEDS        seeds per variant                  default 1

A relative path in a variable is taken from the repository root too, so the same value works
from a terminal in the root and from a notebook.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from hmrlib.constants import REPO_ROOT
from hmrlib.train.config import default_profile


def repo_path(value: str | os.PathLike) -> Path:
    """``value`` as an absolute path; relative ones are taken from the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class NotebookSettings:
    data: Path
    runs: Path  # holds <profile>/<variant>/seed<k>/ run folders
    predict_out: Path
    profile: str
    seeds: int

    @property
    def profile_runs(self) -> Path:
        return self.runs / self.profile


def notebook_settings() -> NotebookSettings:
    """The settings every notebook starts from (see the module docstring)."""
    env = os.environ
    return NotebookSettings(
        data=repo_path(env.get("HMRLIB_DATA", "data/synth_small")),
        runs=repo_path(env.get("HMRLIB_RUNS", "runs/ablation")),
        predict_out=repo_path(env.get("HMRLIB_PREDICT_OUT", "runs/predict")),
        profile=default_profile(),
        seeds=int(env.get("HMRLIB_SEEDS", "1")),
    )
