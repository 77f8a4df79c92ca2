"""A contact sheet: one frame of every action, with its box, to check data by eye."""

from pathlib import Path

import numpy as np

from hmrlib.data.crop import box_from_params
from hmrlib.data.dataset import action_name
from hmrlib.data.h36m import ACTIONS, BOX_PIXELS_PER_SCALE, image_path, params_path, parse_sequence


def contact_sheet(root, out, subject: str | None = None, camera: str | None = None, frame: int = 0):
    """Save a 3x5 grid (one action each) from ``root`` (course layout) to ``out`` (PNG)."""
    from matplotlib.figure import Figure  # no pyplot: leaves a notebook's backend alone
    from matplotlib.patches import Rectangle
    from PIL import Image

    root = Path(root)
    subjects = sorted(p.name for p in (root / "H36M_data_st").iterdir() if p.is_dir())
    subject = subject or subjects[0]
    sequences = sorted(p.name for p in (root / "H36M_data_st" / subject).iterdir())
    chosen = {}
    for sequence in sequences:
        base, cam = action_name(sequence), parse_sequence(sequence)[1]
        if base in ACTIONS and (camera is None or cam == camera) and base not in chosen:
            chosen[base] = sequence
    fig = Figure(figsize=(15, 9.6))
    axes = fig.subplots(3, 5)
    for ax, action in zip(axes.ravel(), ACTIONS):
        ax.axis("off")
        if action not in chosen:
            ax.set_title(f"{action}: missing")
            continue
        sequence = chosen[action]
        ax.imshow(np.asarray(Image.open(image_path(root, subject, sequence, frame))))
        with np.load(params_path(root, subject, sequence, frame)) as params:
            (cx, cy), side = box_from_params(params["center_img"], params["scale_img"], BOX_PIXELS_PER_SCALE)
        ax.add_patch(Rectangle((cx - side / 2, cy - side / 2), side, side, fill=False, color="lime", lw=1))
        ax.set_title(f"{subject} {sequence} #{frame}", fontsize=9)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
