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
from hmrlib.evaluation.metrics import all_metrics

METRICS = ("mse_m2", "pve_mm", "mpjpe_mm", "pa_mpjpe_mm")


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
        torch.utils.data.Subset(dataset, indices.tolist()), batch_size=batch_size, num_workers=workers
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
        predicted = body.mesh(pose[chunk].to(device), betas[chunk].to(device), labels["transl"])
        values = all_metrics(predicted.vertices, target.vertices, predicted.joints, target.joints)
        if h36m_regressor is not None:
            values.update(h36m_protocols(predicted.vertices, target.vertices, h36m_regressor))
        rows.append(pd.DataFrame({k: v.double().cpu().numpy() for k, v in values.items()}))
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(0, "id", [dataset.sample_id(i) for i in indices])
    frame.insert(1, "subject", [dataset.keys[i][0] for i in indices])
    frame.insert(2, "action", [action_name(dataset.keys[i][1]) for i in indices])
    return frame


def summarize(per_sample: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric overall (first row, action 'all') and per action."""
    metrics = [m for m in (*METRICS, *PROTOCOL_METRICS) if m in per_sample]
    overall = per_sample[metrics].mean().to_frame().T.assign(action="all", samples=len(per_sample))
    by_action = per_sample.groupby("action")[metrics].mean().reset_index()
    by_action["samples"] = per_sample.groupby("action").size().values
    return pd.concat([overall, by_action], ignore_index=True)[["action", "samples", *metrics]]


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
    per_sample = score(
        predictions["pose"], predictions["betas"], dataset, body, predictions["indices"], h36m_regressor=h36m_regressor
    )
    summary = summarize(per_sample)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        per_sample.to_csv(out_dir / "per_sample.csv", index=False)
        summary.to_csv(out_dir / "summary.csv", index=False)
    return summary
