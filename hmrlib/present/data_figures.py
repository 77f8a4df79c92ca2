"""Figures for looking at a course-layout dataset (notebook 01 calls these)."""

import numpy as np
import pandas as pd
import torch

from hmrlib.data.crop import crop_square, pixel_box
from hmrlib.data.dataset import H36MDataset, action_name
from hmrlib.data.h36m import BOX_PIXELS_PER_SCALE, parse_sequence
from hmrlib.skeleton import JOINT_NAMES


def preprocessing_steps(dataset: H36MDataset, index: int, ax_row):
    """Four panels: the frame with its box, the square box (padded), the resized crop, and the
    crop as the network sees it."""
    import matplotlib.pyplot as plt

    image = dataset.image(index)
    center, side = dataset.box(index)
    left, top, width, height = pixel_box(center, side)
    ax_row[0].imshow(image)
    ax_row[0].add_patch(plt.Rectangle((left, top), width, height, fill=False, color="lime", lw=1.5))
    ax_row[0].set_title(f"{dataset.sample_id(index)}\nbox {width}x{height} px", fontsize=9)
    ax_row[1].imshow(crop_square(image, center, side, max(width, height)))
    ax_row[1].set_title("the box, zero-padded", fontsize=9)
    ax_row[2].imshow(crop_square(image, center, side, dataset.image_size))
    ax_row[2].set_title(f"resized to {dataset.image_size}x{dataset.image_size}", fontsize=9)
    ax_row[3].imshow(dataset[index]["image"].permute(1, 2, 0).numpy())
    ax_row[3].set_title("dataset item (float, [0, 1])", fontsize=9)
    for ax in ax_row:
        ax.axis("off")


def ground_truth_overlay(dataset: H36MDataset, index: int, body_model, alpha: float = 0.6) -> np.ndarray:
    """The frame with its ground-truth mesh rendered over it through the camera's intrinsics."""
    from hmrlib.render import Renderer

    with torch.no_grad():
        out = body_model(**dataset.labels(index))
    intrinsics = dataset.intrinsics(index)
    image, _ = Renderer().render(
        [(out.vertices[0].cpu().numpy(), body_model.faces, (0.95, 0.45, 0.3, 1.0))],
        intrinsics,
        background=dataset.image(index),
        alpha=alpha,
    )
    return image


def sample_table(dataset: H36MDataset) -> pd.DataFrame:
    """One row per sample: subject, action, camera, depth, box side, betas and joint angles."""
    rows = pd.DataFrame(
        [(s, parse_sequence(q)[1], f) for s, q, f in dataset.keys], columns=["subject", "camera", "frame"]
    )
    rows["action"] = [action_name(q) for _, q, _ in dataset.keys]
    rows["depth_m"] = dataset.params["transl"][:, 2]
    rows["box_px"] = BOX_PIXELS_PER_SCALE * dataset.params["scale_img"][:, 0]
    for k in range(dataset.params["betas"].shape[1]):
        rows[f"beta{k}"] = dataset.params["betas"][:, k]
    pose = dataset.params["body_pose"].reshape(len(dataset), 23, 3)
    for j, name in enumerate(JOINT_NAMES[1:]):
        rows[f"angle_{name}"] = np.degrees(np.linalg.norm(pose[:, j], axis=1))
    return rows


def statistics_figure(table: pd.DataFrame, title: str):
    """Per-action counts, depth and box sizes, joint rotation angles, and betas per subject."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(14, 8))
    table.groupby("action").size().plot.bar(ax=axes[0, 0], color="steelblue")
    axes[0, 0].set_title("frames per action")
    axes[0, 1].hist(table["depth_m"], bins=30, color="gray")
    axes[0, 1].set_xlabel("pelvis depth (m)")
    axes[0, 1].set_title(f"camera distance; box side median {table['box_px'].median():.0f} px")
    angle_columns = [c for c in table if c.startswith("angle_")]
    axes[1, 0].boxplot([table[c] for c in angle_columns], showfliers=False)
    axes[1, 0].set_xticks(range(1, len(angle_columns) + 1), [c[6:] for c in angle_columns], rotation=90, fontsize=7)
    axes[1, 0].set_ylabel("rotation angle (deg)")
    axes[1, 0].set_title("joint rotations away from the T-pose")
    per_subject = table.groupby("subject")[["beta0", "beta1", "beta2"]].first()
    per_subject.plot.bar(ax=axes[1, 1])
    axes[1, 1].set_title("shape (first three betas) per subject")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
