"""Figures of training runs and the ablation (notebook 02 calls these)."""

from pathlib import Path

import pandas as pd

from hmrlib.constants import VARIANT_NAMES


def run_folders(ablation_dir, seed: int = 0) -> dict:
    """{variant: run folder} of one seed of an ablation."""
    ablation_dir = Path(ablation_dir)
    return {
        v: ablation_dir / v / f"seed{seed}"
        for v in VARIANT_NAMES
        if (ablation_dir / v / f"seed{seed}" / "train_log.csv").exists()
    }


def training_curves(runs: dict, title: str):
    """Vertex L2 (train and validation), SuperGAT attention loss and the discriminator loss per variant."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    for variant, folder in runs.items():
        log = pd.read_csv(folder / "train_log.csv")
        axes[0].plot(log.step, log.vertex_l2, label=f"{VARIANT_NAMES[variant]} (train)")
        val = folder / "val_log.csv"
        if val.exists():
            v = pd.read_csv(val)
            axes[0].plot(v.step, v.mse_m2, "o--", label=f"{VARIANT_NAMES[variant]} (validation)")
        if "attention" in log:
            axes[1].plot(log.step, log.attention, label=VARIANT_NAMES[variant])
        if "disc_loss" in log:
            axes[2].plot(log.step, log.disc_loss, label=VARIANT_NAMES[variant])
    axes[0].set(title="vertex MSE (m²)", xlabel="iteration", yscale="log")
    axes[1].set(title="SuperGAT attention loss", xlabel="iteration")
    axes[2].set(title="discriminator loss (24 BCE terms)", xlabel="iteration")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def validation_curves(runs: dict, title: str):
    """MPJPE and PA-MPJPE on the validation subjects at every validation step, per variant: the
    learning of the articulated pose that vertex errors (dominated by the global orientation) hide."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for variant, folder in runs.items():
        val = folder / "val_log.csv"
        if val.exists():
            v = pd.read_csv(val)
            for ax, column in zip(axes, ("mpjpe_mm", "pa_mpjpe_mm")):
                ax.plot(v.step, v[column], "o-", label=VARIANT_NAMES[variant])
    axes[0].set(title="validation MPJPE (mm)", xlabel="iteration")
    axes[1].set(title="validation PA-MPJPE (mm)", xlabel="iteration")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def schedules(run_dir, title: str):
    """The augmentation probability p and every discriminator's input-noise std over training."""
    import matplotlib.pyplot as plt

    log = pd.read_csv(Path(run_dir) / "train_log.csv")
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    left.plot(log.step, log.p)
    left.set(title="augmentation probability p", xlabel="iteration")
    noise = [c for c in log if c.startswith("noise_") and c != "noise_mean"]
    for column in noise[:-1]:
        right.plot(log.step, log[column], color="tab:blue", alpha=0.3)
    if noise:
        right.plot(log.step, log[noise[-1]], color="tab:red", label="full pose")
        right.plot([], [], color="tab:blue", alpha=0.3, label="23 per-joint")
        right.plot(log.step, log.real_score, color="black", ls=":", label="mean D(real)")
        right.axhline(0.6, color="gray", ls="--", lw=0.8)
        right.legend(fontsize=8)
    right.set(title="discriminator input noise std (target D(real) = 0.6)", xlabel="iteration")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def per_action(runs: dict, title: str):
    """Test MSE per action and variant."""
    frames = []
    for variant, folder in runs.items():
        summary = folder / "test" / "summary.csv"
        if summary.exists():
            frames.append(pd.read_csv(summary).query("action != 'all'").assign(variant=VARIANT_NAMES[variant]))
    table = pd.concat(frames).pivot(index="action", columns="variant", values="mse_m2")
    ax = table.plot.bar(figsize=(14, 4))
    ax.set(title=title, ylabel="vertex MSE (m²)")
    ax.figure.tight_layout()
    return ax.figure
