"""Figures comparing the Table 1 variants on the same frames (notebook 03 calls these)."""

from pathlib import Path

import numpy as np
import pandas as pd

from hmrlib.constants import VARIANT_NAMES
from hmrlib.data.crop import crop_square
from hmrlib.evaluation.evaluate import predict, score
from hmrlib.present.plausibility import discriminator_realism, joint_angle_limits, load_discriminator, range_violations
from hmrlib.render import GROUND_TRUTH_COLOUR, PREDICTION_COLOUR, Renderer
from hmrlib.train.trained import TrainedModel, load_trained

FITTED = " + fit"  # the key of a variant's fitted answers: "resnet50 + fit"


def display_name(key: str) -> str:
    """A variant's Table 1 name, or a fitted variant's with "+ fitting to keypoints"."""
    variant, fitted, _ = key.partition(FITTED)
    return VARIANT_NAMES.get(variant, variant) + (" + fitting to keypoints" if fitted else "")


def fitted_predictions(predictions: dict, dataset, indices, body, keypoints, discriminator=None) -> dict:
    """{"<variant> + fit": {"pose", "betas"}}: each variant's answers fitted to ``keypoints``
    (N, 33, 3) of the frames, at their labelled translation (:mod:`hmrlib.evaluation.fitted`),
    with ``discriminator`` as the prior (else staying near the network's pose)."""
    import torch

    from hmrlib.evaluation.fitted import fit_on_frames
    from hmrlib.fitting import KeypointFitter

    fitter = KeypointFitter(body, discriminator)
    out = {}
    for variant, p in predictions.items():
        pose, betas = torch.as_tensor(p["pose"]), torch.as_tensor(p["betas"])
        fitted = fit_on_frames(fitter, pose, betas, dataset, indices, keypoints)
        out[variant + FITTED] = {"pose": fitted["pose"].numpy(), "betas": fitted["betas"].numpy()}
    return out


def load_variants(ablation_dir, seed: int = 0) -> dict[str, TrainedModel]:
    """{variant: trained model} from each run's best checkpoint (else its latest)."""
    from hmrlib.train.checkpoint import latest

    trained = {}
    for variant in VARIANT_NAMES:
        folder = Path(ablation_dir) / variant / f"seed{seed}" / "checkpoints"
        path = folder / "best.pt" if (folder / "best.pt").exists() else latest(folder) if folder.exists() else None
        if path is not None:
            trained[variant] = load_trained(path)  # on the GPU where there is one
    return trained


def predict_variants(trained: dict[str, TrainedModel], dataset, indices) -> dict:
    """{variant: {"pose": (N, 72), "betas": (N, 10)}} for ``indices`` of ``dataset``."""
    return {
        v: {k: t.numpy() for k, t in predict(m.generator, dataset, indices).items() if k != "indices"}
        for v, m in trained.items()
    }


def side_by_side(dataset, predictions: dict, body, indices, sample_numbers, title: str, zoom_size: int | None = 256):
    """Rows: frames; columns: the image with ground truth, then each variant's prediction. Each
    picture is zoomed to the person's box (as the network saw the frame) at ``zoom_size`` pixels;
    None shows the whole frame."""
    import matplotlib.pyplot as plt
    import torch

    renderer = Renderer()
    fig, axes = plt.subplots(
        len(sample_numbers),
        1 + len(predictions),
        figsize=(3.2 * (1 + len(predictions)), 3.2 * len(sample_numbers)),
        squeeze=False,
    )
    for row, n in zip(axes, sample_numbers):
        index = int(indices[n])
        intrinsics = dataset.intrinsics(index)
        image = dataset.image(index)
        labels = dataset.labels(index)
        box = dataset.box(index)

        def zoomed(picture, box=box):
            return picture if zoom_size is None else crop_square(picture, *box, zoom_size)

        with torch.no_grad():
            truth = body(**labels).vertices[0].cpu().numpy()
        row[0].imshow(
            zoomed(
                renderer.render([(truth, body.faces, GROUND_TRUTH_COLOUR)], intrinsics, background=image, alpha=0.6)[0]
            )
        )
        row[0].set_title(f"ground truth\n{dataset.sample_id(index)}", fontsize=8)
        for ax, (variant, p) in zip(row[1:], predictions.items()):
            with torch.no_grad():
                vertices = (
                    body.mesh(
                        torch.as_tensor(p["pose"][n])[None], torch.as_tensor(p["betas"][n])[None], labels["transl"]
                    )
                    .vertices[0]
                    .cpu()
                    .numpy()
                )
            ax.imshow(
                zoomed(
                    renderer.render(
                        [(vertices, body.faces, PREDICTION_COLOUR)], intrinsics, background=image, alpha=0.6
                    )[0]
                )
            )
            ax.set_title(display_name(variant), fontsize=8)
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
    discriminator = (
        load_discriminator(Path(disc_run_dir)) if disc_run_dir and Path(disc_run_dir, "checkpoints").exists() else None
    )
    rows = [
        {
            "poses": "ground truth",
            "joints beyond training range (%)": 100 * range_violations(truth, limits).mean(),
            "discriminator realism": discriminator_realism(truth, discriminator).mean() if discriminator else np.nan,
            "MSE (m²)": 0.0,
        }
    ]
    for variant, p in predictions.items():
        rows.append(
            {
                "poses": display_name(variant),
                "joints beyond training range (%)": 100 * range_violations(p["pose"], limits).mean(),
                "discriminator realism": discriminator_realism(p["pose"], discriminator).mean()
                if discriminator
                else np.nan,
                "MSE (m²)": scores[variant].mse_m2.mean(),
            }
        )
    return pd.DataFrame(rows)


def per_sample_scores(dataset, predictions: dict, body, indices) -> dict:
    import torch

    return {
        v: score(torch.as_tensor(p["pose"]), torch.as_tensor(p["betas"]), dataset, body, indices)
        for v, p in predictions.items()
    }
