"""Does fitting to the keypoints after the network make the body follow the person?

1. Choice of the prior, on the validation subject only (S8, the full model): no prior, staying
   near the network's pose, the paper's discriminators as the prior, at two weights each; the
   one with the lowest MPJPE is kept.
2. Test subjects S9 + S11 (an evenly spread subset across actions and cameras), touched once:
   the mean pose and each of the main job's three models, before and after fitting, with
   BlazePose's keypoints found on the whole frame as predict finds them, and with the labels'
   own joints projected (the ceiling: perfect 2D). Every row's fit uses the full model's
   discriminator (the other two variants train none).
3. Speed: seconds of fitting per person, 16 people at once and one by one; and predict on 16
   test frames (detector, network, files, pictures) with and without fitting, alternately, in
   one run (medians of the rounds).

    python benchmarks/bench_fitting.py --runs runs/ablation/cpu [--test-frames 512] [--val-frames 192]
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hmrlib.data.dataset import H36MDataset
from hmrlib.data.h36m import data_label, image_path
from hmrlib.evaluation.evaluate import mean_parameters, predict, score
from hmrlib.evaluation.fitted import fit_on_frames, label_keypoints, limb_pck
from hmrlib.fitting import FitSettings, KeypointFitter
from hmrlib.people.detect import PersonDetector
from hmrlib.people.frame_keypoints import detect_frame_keypoints
from hmrlib.people.inputs import predict_files
from hmrlib.train.trained import load_trained

VARIANTS = ("resnet50", "resnext_supergat", "resnext_supergat_disc")
PRIOR_CHOICES = (
    ("none", 0.0),
    ("near-network", 1e-3),
    ("near-network", 1e-2),
    ("near-network", 1e-1),
    ("discriminator", 1e-4),
    ("discriminator", 1e-3),
    ("discriminator", 1e-2),
)
COLUMNS = {
    "mpjpe_mm": "MPJPE",
    "pa_mpjpe_mm": "PA-MPJPE",
    "orient_err_deg": "heading median (°)",
    "orient_beyond_90": "> 90° (%)",
    "pa_arms_mm": "PA arms",
    "limb_pck": "limb PCK@0.1 (%)",
    "kept": "fits kept (%)",
}


def evenly(dataset, count: int) -> np.ndarray:
    return np.linspace(0, len(dataset) - 1, min(count, len(dataset))).round().astype(int)


def row(name, pose, betas, dataset, indices, body, kept=None) -> dict:
    per_sample = score(pose, betas, dataset, body, indices)
    values = per_sample[["mpjpe_mm", "pa_mpjpe_mm", "pa_arms_mm"]].mean().to_dict()
    values["orient_err_deg"] = per_sample["orient_err_deg"].median()
    values["orient_beyond_90"] = 100 * per_sample["orient_beyond_90"].mean()
    values["limb_pck"] = 100 * limb_pck(pose, betas, dataset, indices, body).mean()
    values["kept"] = float("nan") if kept is None else 100 * kept.float().mean().item()
    return {"row": name, **values}


def table(rows: list[dict]) -> str:
    """A markdown table, one decimal."""
    frame = pd.DataFrame(rows).rename(columns=COLUMNS)
    cells = [
        [f"{v:.1f}" if isinstance(v, float) else str(v) for v in values] for values in frame.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/ablation/cpu"), help="the ablation's profile folder")
    parser.add_argument("--test-frames", type=int, default=512)
    parser.add_argument("--val-frames", type=int, default=192)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_fitting"))
    parser.add_argument("--rounds", type=int, default=3, help="predict with and without fitting, alternately")
    args = parser.parse_args()
    trained = {v: load_trained(args.runs / v / "seed0" / "checkpoints" / "best.pt", device="cpu") for v in VARIANTS}
    full = trained["resnext_supergat_disc"]
    body, data = full.body, full.config.data
    detector = PersonDetector(max_people=1)  # the frames hold one person: the first find is predict's first find

    def frames(subjects):
        return H36MDataset(
            data.root,
            subjects=subjects,
            image_size=data.image_size,
            box_rounding=data.box_rounding,
            cache_dir=data.cache_dir,
            progress=False,
        )

    val_set, test_set = frames(data.val_subjects), frames(data.test_subjects)
    print(
        f"{data_label(data.root)}; body model: {'stand-in' if body.is_standin else body.source}; "
        f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads); one seed"
    )

    # 1. the prior, chosen on validation
    val_idx = evenly(val_set, args.val_frames)
    val_keypoints = detect_frame_keypoints(val_set, val_idx, detector, args.out / "keypoints_val.npz")
    val_pred = predict(full.generator, val_set, val_idx)
    choices = [row("network", val_pred["pose"], val_pred["betas"], val_set, val_idx, body)]
    for prior, weight in PRIOR_CHOICES:
        settings = FitSettings(prior=prior, prior_weight=weight)
        fitted = fit_on_frames(
            KeypointFitter(body, full.discriminator, settings),
            val_pred["pose"],
            val_pred["betas"],
            val_set,
            val_idx,
            val_keypoints,
        )
        choices.append(
            row(
                f"+ fit, prior {prior} {weight:g}",
                fitted["pose"],
                fitted["betas"],
                val_set,
                val_idx,
                body,
                fitted["kept"],
            )
        )
        choices[-1].update(prior=prior, weight=weight)
    best = min(choices[1:], key=lambda r: r["mpjpe_mm"])
    print(f"\nvalidation {' '.join(data.val_subjects)}, {len(val_idx)} frames, full model, BlazePose keypoints:")
    print(table([{k: v for k, v in r.items() if k not in ("prior", "weight")} for r in choices]))
    print(f"chosen: prior {best['prior']}, weight {best['weight']:g} (lowest MPJPE)")
    fitter = KeypointFitter(body, full.discriminator, FitSettings(prior=best["prior"], prior_weight=best["weight"]))

    # 2. the test subjects, once
    test_idx = evenly(test_set, args.test_frames)
    blaze = detect_frame_keypoints(test_set, test_idx, detector, args.out / "keypoints_test.npz")
    ceiling = label_keypoints(test_set, test_idx, fitter.body_points)
    found = (blaze[:, :, 2].max(1) > 0).mean()
    train_set = frames(data.train_subjects)
    mean_pose, mean_betas = mean_parameters(train_set)
    answers = {"mean pose": (mean_pose.expand(len(test_idx), -1), mean_betas.expand(len(test_idx), -1))}
    for variant in VARIANTS:
        out = predict(trained[variant].generator, test_set, test_idx)
        answers[variant] = (out["pose"], out["betas"])
    rows = []
    for name, (pose, betas) in answers.items():
        rows.append(row(name, pose, betas, test_set, test_idx, body))
        for source, keypoints in (("BlazePose", blaze), ("labels' 2D", ceiling)):
            fitted = fit_on_frames(fitter, pose, betas, test_set, test_idx, keypoints)
            rows.append(
                row(
                    f"{name} + fit ({source})",
                    fitted["pose"],
                    fitted["betas"],
                    test_set,
                    test_idx,
                    body,
                    fitted["kept"],
                )
            )
    print(
        f"\ntest {' '.join(data.test_subjects)}, {len(test_idx)} frames (BlazePose found the person in "
        f"{100 * found:.0f} %); mm unless said:"
    )
    print(table(rows))

    # 3. speed
    pose, betas = answers["resnext_supergat_disc"]
    timings = {}
    for label, size in (("16 at once", 16), ("one by one", 1)):
        start = time.perf_counter()
        for k in range(0, 16, size):
            fit_on_frames(
                fitter,
                pose[k : k + size],
                betas[k : k + size],
                test_set,
                test_idx[k : k + size],
                blaze[k : k + size],
                batch_size=size,
            )
        timings[label] = (time.perf_counter() - start) / 16
    print(
        f"\nfitting, seconds a person: 16 at once {timings['16 at once']:.3f}, one by one "
        f"{timings['one by one']:.3f} (ratio {timings['one by one'] / timings['16 at once']:.1f})"
    )
    frames = [image_path(test_set.root, *test_set.keys[i]) for i in test_idx[:: max(1, len(test_idx) // 16)][:16]]
    seconds = {"without": [], "with": []}
    for _ in range(args.rounds):
        for label, fit in (("without", None), ("with", fitter)):
            start = time.perf_counter()
            generator = trained["resnext_supergat_disc"].generator
            written, failed = predict_files(
                generator,
                body,
                frames,
                args.out / "predict",
                image_size=data.image_size,
                detector=PersonDetector(),
                progress=False,
                fitter=fit,
            )
            if failed:
                raise SystemExit(f"predict failed: {failed}")
            seconds[label].append(time.perf_counter() - start)
    without, with_fit = np.median(seconds["without"]), np.median(seconds["with"])
    print(
        f"predict on {len(frames)} test frames: {without:.1f} s without fitting, {with_fit:.1f} s with "
        f"(ratio {with_fit / without:.2f}; medians of {args.rounds} rounds)"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "test.csv", index=False)
    pd.DataFrame(choices).to_csv(args.out / "validation.csv", index=False)
    print(f"wrote {args.out}/validation.csv and test.csv")


if __name__ == "__main__":
    main()
