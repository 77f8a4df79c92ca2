"""Evaluation: predict on a dataset, score against its ground truth, summarise overall and per action.

Scores use the course's protocol: both meshes are placed with the ground-truth root_loc, in the
camera frame. Results say which data they were computed on (``data_label``).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hmrlib.data.dataset import action_name
from hmrlib.evaluation.h36m_protocol import PROTOCOL_METRICS, h36m_protocols
from hmrlib.evaluation.metrics import all_metrics, mpjpe, orientation_error_deg, pa_errors_by_group

METRICS = ("mse_m2", "pve_mm", "mpjpe_mm", "pa_mpjpe_mm")
# where the error comes from: the global orientation (the heading), and the articulation alone
# (MPJPE with the ground-truth orientation put in), and PA-MPJPE by body part
BREAKDOWN = ("orient_err_deg", "orient_beyond_90", "mpjpe_gt_orient_mm", "pa_torso_mm", "pa_legs_mm", "pa_arms_mm")


def _batches(indices, batch_size):
    for start in range(0, len(indices), batch_size):
        yield indices[start : start + batch_size]


@torch.no_grad()
def predict(generator, dataset, indices=None, batch_size: int = 32, device=None, workers: int = 0) -> dict:
    """Predicted pose (N, 72) and betas (N, 10) for ``indices`` of ``dataset`` (all by default)."""
    device = device or next(generator.parameters()).device
    indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    was_training = generator.training
    generator.eval()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices.tolist()),
        batch_size=batch_size,
        num_workers=workers,
        # starting a loader draws a seed: not from the global RNG, or a validation during training
        # would change the dropout masks after it (and the run would depend on val_every)
        generator=torch.Generator(),
    )
    poses, betas = [], []
    for batch in loader:
        out = generator(batch["image"].to(device))
        poses.append(out.pose.float().cpu())
        betas.append(out.betas.float().cpu())
    generator.train(was_training)
    return {"pose": torch.cat(poses), "betas": torch.cat(betas), "indices": indices}


@torch.no_grad()
def score(
    pose: torch.Tensor, betas: torch.Tensor, dataset, body, indices=None, batch_size: int = 64, h36m_regressor=None
) -> pd.DataFrame:
    """Per-sample metrics of predicted parameters (N, 72) / (N, 10) against the dataset's labels.

    Returns one row per sample: id, subject, action and every metric; with ``h36m_regressor``
    ((17, V), :func:`~hmrlib.evaluation.h36m_protocol.load_h36m_regressor`) also Human3.6M's
    protocols 1 and 2."""
    indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    device = body.smpl.v_template.device
    rows = []
    for chunk in _batches(np.arange(len(indices)), batch_size):
        labels = {k: v.to(device) for k, v in dataset.labels(indices[chunk]).items()}
        target = body(**labels)
        chunk_pose, chunk_betas = pose[chunk].to(device), betas[chunk].to(device)
        predicted = body.mesh(chunk_pose, chunk_betas, labels["transl"])
        values = all_metrics(predicted.vertices, target.vertices, predicted.joints, target.joints)
        values.update(breakdown(chunk_pose, chunk_betas, labels, predicted, target, body))
        if h36m_regressor is not None:
            values.update(h36m_protocols(predicted.vertices, target.vertices, h36m_regressor))
        rows.append(pd.DataFrame({k: v.double().cpu().numpy() for k, v in values.items()}))
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(0, "id", [dataset.sample_id(i) for i in indices])
    frame.insert(1, "subject", [dataset.keys[i][0] for i in indices])
    frame.insert(2, "action", [action_name(dataset.keys[i][1]) for i in indices])
    return frame


def breakdown(pose, betas, labels: dict, predicted, target, body) -> dict:
    """Per-sample (B,) error breakdown (:data:`BREAKDOWN`) of predicted poses (B, 72) whose
    meshes are ``predicted``, against the labels' meshes ``target``."""
    target_orient = labels["global_orient"]
    orientation = orientation_error_deg(pose[:, :3], target_orient)
    with_true_orientation = torch.cat([target_orient, pose[:, 3:]], dim=1)
    articulated = body.mesh(with_true_orientation, betas, labels["transl"]).joints
    return {
        "orient_err_deg": orientation,
        "orient_beyond_90": (orientation > 90).double(),  # its mean is the share of such frames
        "mpjpe_gt_orient_mm": mpjpe(articulated, target.joints),
        **pa_errors_by_group(predicted.joints, target.joints),
    }


def summarize(per_sample: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric overall (first row, action 'all') and per action; the orientation
    error's median too (``orient_err_median_deg``), and ``orient_beyond_90`` is a share."""
    metrics = [m for m in (*METRICS, *PROTOCOL_METRICS, *BREAKDOWN) if m in per_sample]
    overall = per_sample[metrics].mean().to_frame().T.assign(action="all", samples=len(per_sample))
    overall["orient_err_median_deg"] = per_sample["orient_err_deg"].median()
    groups = per_sample.groupby("action")
    by_action = groups[metrics].mean().reset_index()
    by_action["samples"] = groups.size().values
    by_action["orient_err_median_deg"] = groups["orient_err_deg"].median().values
    return pd.concat([overall, by_action], ignore_index=True)[["action", "samples", *metrics, "orient_err_median_deg"]]


def mean_parameters(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean-pose / mean-shape predictor: per-value means of the training labels, (72,), (10,)."""
    return torch.as_tensor(dataset.poses().mean(0), dtype=torch.float32), torch.as_tensor(
        dataset.params["betas"].mean(0), dtype=torch.float32
    )


def evaluate_generator(
    generator, dataset, body, out_dir=None, indices=None, batch_size: int = 32, workers: int = 0, h36m_regressor=None
) -> pd.DataFrame:
    """Predict and score; with ``out_dir``, write per_sample.csv and summary.csv there."""
    predictions = predict(generator, dataset, indices, batch_size, workers=workers)
    return evaluate_predictions(predictions, dataset, body, out_dir, h36m_regressor)


def evaluate_predictions(predictions: dict, dataset, body, out_dir=None, h36m_regressor=None) -> pd.DataFrame:
    """Score :func:`predict`'s output and summarise; with ``out_dir``, write per_sample.csv and
    summary.csv there."""
    per_sample = score(
        predictions["pose"], predictions["betas"], dataset, body, predictions["indices"], h36m_regressor=h36m_regressor
    )
    summary = summarize(per_sample)
    if out_dir is not None:
        write_scores(per_sample, summary, out_dir)
    return summary


def write_scores(per_sample: pd.DataFrame, summary: pd.DataFrame, out_dir, suffix: str = "") -> None:
    """per_sample<suffix>.csv and summary<suffix>.csv under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_sample.to_csv(out_dir / f"per_sample{suffix}.csv", index=False)
    summary.to_csv(out_dir / f"summary{suffix}.csv", index=False)
