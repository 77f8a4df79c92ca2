"""The paper's Table 1 ablation: train the three variants (x seeds), score them on the test
subjects, and write Table 1 (markdown, CSV, bar plot) beside the paper's numbers.

Runs that finished are not trained again: each run folder keeps its test scores, so an
interrupted ablation continues where it stopped (an interrupted run resumes from its checkpoint).
"""

import platform
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hmrlib.constants import MEAN_PREDICTOR_NAME, VARIANT_NAMES, VARIANTS
from hmrlib.data.dataset import H36MDataset, require_subjects
from hmrlib.data.h36m import data_label
from hmrlib.evaluation.evaluate import BREAKDOWN, METRICS, evaluate_generator, mean_parameters, score, summarize
from hmrlib.train.config import profile, scored_subjects

PAPER_MSE = {"resnet50": 0.034036, "resnext_supergat": 0.008685, "resnext_supergat_disc": 0.007817}
ROW_NAMES = {"mean": MEAN_PREDICTOR_NAME, **VARIANT_NAMES}


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def test_indices(dataset, samples: int) -> np.ndarray:
    """All test frames, or a fixed, evenly spread subset of ``samples`` of them."""
    if not samples or samples >= len(dataset):
        return np.arange(len(dataset))
    return np.linspace(0, len(dataset) - 1, samples).round().astype(int)


def scored_set(config) -> H36MDataset:
    """The frames Table 1 scores (see :func:`hmrlib.train.config.scored_subjects`)."""
    data = config.data
    return H36MDataset(
        data.root,
        subjects=scored_subjects(config)[0],
        image_size=data.image_size,
        box_rounding=data.box_rounding,
        cache_dir=data.cache_dir,
        progress=False,
    )


def train_and_test(config, run_dir: Path, progress: bool = True) -> pd.DataFrame:
    """Train one run (or finish it) and score its final weights on the scored subjects (the test
    subjects where they have labels); cached in run_dir/test."""
    from hmrlib.train import Trainer

    summary_path = run_dir / "test" / "summary.csv"
    if not summary_path.exists():
        trainer = Trainer(config, run_dir, progress=progress)
        trainer.run()
        test_set = scored_set(config)
        evaluate_generator(
            trainer.generator,
            test_set,
            trainer.body,
            out_dir=run_dir / "test",
            indices=test_indices(test_set, config.data.test_samples),
        )
    summary = pd.read_csv(summary_path)
    log = pd.read_csv(run_dir / "train_log.csv")
    return summary.assign(train_seconds=float(log["seconds"].iloc[-1]))


def mean_predictor(config, body, out_dir: Path) -> pd.DataFrame:
    data = config.data
    train_set = H36MDataset(
        data.root,
        subjects=data.train_subjects,
        image_size=data.image_size,
        box_rounding=data.box_rounding,
        cache_dir=data.cache_dir,
        progress=False,
    )
    test_set = scored_set(config)
    indices = test_indices(test_set, data.test_samples)
    pose, betas = mean_parameters(train_set)
    per_sample = score(pose.expand(len(indices), -1), betas.expand(len(indices), -1), test_set, body, indices)
    summary = summarize(per_sample)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out_dir / "summary.csv", index=False)
    return summary.assign(train_seconds=0.0)


def run_ablation(
    profile_name: str,
    seeds: int = 1,
    data_root=None,
    runs_dir="runs/ablation",
    variants=tuple(VARIANTS),
    progress: bool = True,
    pretrained: str | None = None,
) -> pd.DataFrame:
    """Train and score every variant and seed (finished runs are reused), then write Table 1.
    ``pretrained`` overrides the profile's choice of ImageNet weights."""
    out = Path(runs_dir) / profile_name
    first = profile(profile_name, variants[0], 0, data_root, pretrained)
    subjects, role = scored_subjects(first)
    require_subjects(first.data.root, subjects, role)  # before hours of training, not after
    results = []
    for seed in range(seeds):
        for variant in variants:
            config = profile(profile_name, variant, seed, data_root, pretrained)
            summary = train_and_test(config, out / variant / f"seed{seed}", progress)
            results.append(summary.iloc[0].to_dict() | {"variant": variant, "seed": seed})
    from hmrlib.body import load_body_model

    config = profile(profile_name, variants[0], 0, data_root, pretrained)
    body = load_body_model(config.data.body_model)
    baseline = mean_predictor(config, body, out / "mean_predictor")
    results.append(baseline.iloc[0].to_dict() | {"variant": "mean", "seed": 0})
    table = make_table(pd.DataFrame(results), config, body.is_standin)
    write_table(table, out, config, profile_name)
    return table


def make_table(results: pd.DataFrame, config, standin: bool) -> pd.DataFrame:
    label = data_label(config.data.root)
    body = "stand-in body" if standin else "SMPL"
    rows = []
    for variant in ["mean", *[v for v in VARIANTS if v in set(results.variant)]]:
        runs = results[results.variant == variant]
        row = {"architecture": ROW_NAMES[variant], "data": f"{label}, {body}", "runs": len(runs)}
        for metric in (*METRICS, *BREAKDOWN, "orient_err_median_deg"):
            row[f"{metric}"] = runs[metric].mean()
            row[f"{metric}_std"] = runs[metric].std(ddof=0) if len(runs) > 1 else 0.0
        row["train_minutes"] = runs["train_seconds"].mean() / 60
        row["paper_mse_m2 (real H36M, SMPL)"] = PAPER_MSE.get(variant, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def scored_caption(config) -> str:
    subjects, role = scored_subjects(config)
    caption = (
        f"scored on the {role} subjects {' '.join(subjects)} (best.pt chosen on {' '.join(config.data.val_subjects)})"
    )
    if role == "validation":
        caption += " — the course hides the test labels, so this score is optimistic; the submission is the test"
    return caption


def backbone_start(config) -> str:
    """How the backbones started: from ImageNet weights, or from scratch (then say so)."""
    from hmrlib.models.weights import WEIGHT_FILES, find_imagenet_weights

    if config.model.pretrained == "none":
        return "backbones trained from scratch (--pretrained none)"
    missing = [a for a in WEIGHT_FILES if find_imagenet_weights(a, config.model.weights_path) is None]
    if missing:
        return f"backbones trained from scratch: no ImageNet weights found for {', '.join(missing)}"
    return "backbones fine-tuned from ImageNet weights"


def write_table(table: pd.DataFrame, out: Path, config, profile_name: str):
    from matplotlib.figure import Figure  # no pyplot: leaves a notebook's backend alone

    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table1.csv", index=False)
    hardware = device_name()
    seeds = int(table.runs[table.architecture != ROW_NAMES["mean"]].max())
    # one seed measures no spread: print the values alone rather than a "± 0" that claims one
    spread = f"mean ± std over {seeds} seeds" if seeds > 1 else "1 seed: no spread measured"
    lines = [
        f"Table 1 — profile `{profile_name}`, {table.data.iloc[0]}, "
        f"{scored_caption(config)}, "
        f"trained on {hardware}, {backbone_start(config)}; {spread}.",
        "",
        "| architecture | MSE (m²) | PVE (mm) | MPJPE (mm) | PA-MPJPE (mm) | train (min) | paper MSE (real H36M) |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        paper = "—" if np.isnan(r["paper_mse_m2 (real H36M, SMPL)"]) else f"{r['paper_mse_m2 (real H36M, SMPL)']:.6f}"
        digits = {m: 5 if m == "mse_m2" else 1 for m in METRICS}
        cells = [f"{r[m]:.{digits[m]}f}" + (f" ± {r[m + '_std']:.{digits[m]}f}" if r.runs > 1 else "") for m in METRICS]
        lines.append(f"| {r.architecture} | {' | '.join(cells)} | {r.train_minutes:.1f} | {paper} |")
    lines += [
        "",
        "Where the error comes from (the same runs; means over seeds):",
        "",
        "| architecture | heading error, median (°) | heading off by > 90° | MPJPE with the true heading (mm) "
        "| PA torso / legs / arms (mm) |",
        "|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r.architecture} | {r.orient_err_median_deg:.1f} | {100 * r.orient_beyond_90:.0f} % "
            f"| {r.mpjpe_gt_orient_mm:.1f} | {r.pa_torso_mm:.0f} / {r.pa_legs_mm:.0f} / {r.pa_arms_mm:.0f} |"
        )
    (out / "table1.md").write_text("\n".join(lines) + "\n")
    fig = Figure(figsize=(12, 4))
    ours, paper = fig.subplots(1, 2)
    ours.bar(
        table.architecture,
        table.mse_m2,
        yerr=table.mse_m2_std.where(table.runs > 1),  # no error bar for one run
        color=["gray", "tab:blue", "tab:orange", "tab:green"][: len(table)],
        capsize=4,
    )
    ours.set_title(f"this run: {table.data.iloc[0]}\nprofile {profile_name}, {hardware}", fontsize=9)
    ours.set_ylabel("vertex MSE (m²)")
    paper_rows = table.dropna(subset=["paper_mse_m2 (real H36M, SMPL)"])
    paper.bar(
        paper_rows.architecture,
        paper_rows["paper_mse_m2 (real H36M, SMPL)"],
        color=["tab:blue", "tab:orange", "tab:green"][: len(paper_rows)],
    )
    paper.set_title("the paper's Table 1: real Human3.6M, SMPL (public test score)", fontsize=9)
    for ax in (ours, paper):
        ax.tick_params(axis="x", labelrotation=15, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "table1.png", dpi=100)
