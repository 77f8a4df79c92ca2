"""Figures comparing the Table 1 variants on the same frames (notebook 03 calls these)."""
from pathlib import Path

import numpy as np
import pandas as pd

from hmrlib.ablation import NAMES
from hmrlib.data.figures import camera_intrinsics, full_image
from hmrlib.data.h36m import parse_sequence
from hmrlib.evaluate import predict, score
from hmrlib.inference import load_generator
from hmrlib.plausibility import discriminator_realism, joint_angle_limits, load_discriminator, range_violations
from hmrlib.render import GROUND_TRUTH_COLOUR, PREDICTION_COLOUR, Renderer


def load_variants(ablation_dir, seed: int = 0) -> dict:
    """{variant: generator} from each run's best checkpoint (else its latest)."""
    from hmrlib.train.checkpoint import latest

    generators = {}
    for variant in NAMES:
        folder = Path(ablation_dir) / variant / f"seed{seed}" / "checkpoints"
        path = folder / "best.pt" if (folder / "best.pt").exists() else latest(folder) if folder.exists() else None
        if path is not None:
            generators[variant] = load_generator(path, device="cpu")[0]
    return generators


def predict_variants(generators: dict, dataset, indices) -> dict:
    return {v: {k: t.numpy() for k, t in predict(g, dataset, indices).items() if k != "indices"} for v, g in generators.items()}


def side_by_side(dataset, predictions: dict, body, indices, sample_numbers, title: str):
    """Rows: frames; columns: the image with ground truth, then each variant's prediction."""
    import matplotlib.pyplot as plt

    import torch

    from hmrlib.body import course_to_smplx

    renderer = Renderer()
    fig, axes = plt.subplots(len(sample_numbers), 1 + len(predictions), figsize=(3.2 * (1 + len(predictions)), 3.2 * len(sample_numbers)), squeeze=False)
    for row, n in zip(axes, sample_numbers):
        index = int(indices[n])
        intrinsics = camera_intrinsics(dataset.root, parse_sequence(dataset.keys[index][1])[1])
        image = full_image(dataset, index)
        labels = dataset.labels(index)
        with torch.no_grad():
            truth = body(**course_to_smplx(labels)).vertices[0].numpy()
        row[0].imshow(renderer.render([(truth, body.faces, GROUND_TRUTH_COLOUR)], intrinsics, background=image, alpha=0.6)[0])
        row[0].set_title(f"ground truth\n{dataset.sample_id(index)}", fontsize=8)
        for ax, (variant, p) in zip(row[1:], predictions.items()):
            pose = torch.as_tensor(p["pose"][n])[None]
            with torch.no_grad():
                vertices = body(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=torch.as_tensor(p["betas"][n])[None], transl=labels["root_loc"]).vertices[0].numpy()
            ax.imshow(renderer.render([(vertices, body.faces, PREDICTION_COLOUR)], intrinsics, background=image, alpha=0.6)[0])
            ax.set_title(NAMES[variant], fontsize=8)
        for ax in row:
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plausibility_table(train_set, dataset, predictions: dict, indices, scores: dict, disc_run_dir=None) -> pd.DataFrame:
    """Per variant (and the ground truth): share of joints beyond the training range, the
    trained discriminator's realism score, and the MSE on these frames (``scores`` from
    :func:`per_sample_scores`)."""
    limits = joint_angle_limits(train_set.poses())
    truth = dataset.poses(indices)
    discriminator = load_discriminator(Path(disc_run_dir)) if disc_run_dir and Path(disc_run_dir, "checkpoints").exists() else None
    rows = [{"poses": "ground truth", "joints beyond training range (%)": 100 * range_violations(truth, limits).mean(),
             "discriminator realism": discriminator_realism(truth, discriminator).mean() if discriminator else np.nan, "MSE (m²)": 0.0}]
    for variant, p in predictions.items():
        rows.append({"poses": NAMES[variant], "joints beyond training range (%)": 100 * range_violations(p["pose"], limits).mean(),
                     "discriminator realism": discriminator_realism(p["pose"], discriminator).mean() if discriminator else np.nan,
                     "MSE (m²)": scores[variant].mse_m2.mean()})
    return pd.DataFrame(rows)


def per_sample_scores(dataset, predictions: dict, body, indices) -> dict:
    import torch

    return {v: score(torch.as_tensor(p["pose"]), torch.as_tensor(p["betas"]), dataset, body, indices) for v, p in predictions.items()}
