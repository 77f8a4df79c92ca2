"""Training-step cost, each ratio measured within one run:
1. a full training step (augmentation, generator with SuperGAT and shape heads, body model for
   target and prediction, losses, discriminator step, noise update) against a backbone-only step
   (ResNeXt-50 forward + backward + AdamW on the same trainable weights, under the same autocast,
   memory format and compilation as training) — goal <= 1.2, printed with images/s and, on a GPU,
   its busy share (NVML); the
   difference is the fixed per-step cost of everything but the backbone;
2. the loader's samples/s against what training consumes (batch / step time) — goal >= 1;
3. with --split (issue 17): where a training step of a profile's variant goes — the backbone's
   forward and backward, the body model (target mesh, predicted mesh and its backward), the
   losses, the discriminator's step — each timed alone on the same batch, interleaved with the
   full step in rounds; what is left of the full step is the optimiser and small ops.

Each arm is the median of --steps timed steps (after warm-up, the device synchronised around
each), the two arms interleaved in --rounds rounds so that noise on the machine hits both; the
medians over all rounds are reported. The batch is on the training device before timing.

    python benchmarks/bench_training.py [--data data/synth_small] [--size 224] [--steps 5]
    python benchmarks/bench_training.py --split --profile cpu --variant resnet50 [--set ...]
"""

import argparse
import statistics
import tempfile
import time
import warnings
from dataclasses import replace

import torch


def main():
    from hmrlib.train import Trainer, profile
    from hmrlib.train.timing import first_batch, median_seconds
    from hmrlib.train.trainer import adamw
    from hmrlib.train.waits import WaitCounter

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/synth_small")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--split", action="store_true", help="time the parts of one profile's step")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--variant", default="resnet50")
    parser.add_argument("--set", action="append", default=[], help="section.field=value, as train's --set")
    args = parser.parse_args()
    if args.split:
        return split(args)
    warnings.filterwarnings("ignore", message="no ImageNet weights")
    config = profile("gpu", "resnext_supergat_disc", data_root=args.data, pretrained="if-available")
    config = replace(
        config,
        optim=replace(config.optim, batch_size=args.batch),
        data=replace(config.data, image_size=args.size, workers=args.workers),
        augment=replace(config.augment, ramp_iterations=0, p_max=0.75),
    )
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, run_dir, progress=False)
        device = trainer.device
        batch = first_batch(trainer.train_set, config.optim.batch_size, device)
        generator = trainer.generator.train()
        params = [p for p in generator.backbone.parameters() if p.requires_grad]
        optimiser = adamw(params, lr=1e-4, weight_decay=0.01)  # the trainer's own optimiser

        images = batch["image"]
        if trainer.channels_last:  # the same memory format, autocast and compilation as training
            images = images.contiguous(memory_format=torch.channels_last)

        def backbone_step():
            with torch.autocast(device.type, dtype=trainer.amp_dtype, enabled=trainer.amp_dtype is not None):
                loss = generator.backbone(images).float().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        bare, full, busy = [], [], []
        for _ in range(args.rounds):
            bare.append(median_seconds(backbone_step, args.steps, device))
            full.append(median_seconds(lambda: trainer.step(batch), args.steps, device))
            busy.append(gpu_busy_percent(device))  # NVML's share of the last sample period
        bare_s, full_s = statistics.median(bare), statistics.median(full)
        with WaitCounter() as waits:  # what would make the host wait for a GPU, counted on any device
            trainer.step(batch)
        loader = torch.utils.data.DataLoader(
            trainer.train_set, batch_size=config.optim.batch_size, shuffle=True, num_workers=args.workers
        )
        start, count = time.perf_counter(), 0
        for i, b in enumerate(loader):
            count += len(b["image"])
            if i == 40:
                break
        rate = count / (time.perf_counter() - start)
    consumed = config.optim.batch_size / full_s
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{args.size}x{args.size}, batch {config.optim.batch_size}, {where}, p = 0.75 (every op active)")
    print(
        f"medians of {args.rounds} x {args.steps} steps: backbone-only step {bare_s:.3f} s, full step {full_s:.3f} s: "
        f"ratio {full_s / bare_s:.2f} (goal <= 1.2); fixed per-step cost {full_s - bare_s:.3f} s; "
        f"{config.optim.batch_size / full_s:.0f} images/s full, {config.optim.batch_size / bare_s:.0f} backbone-only"
    )
    print(f"waits for the device in one full step: {waits.total} (goal 0)")
    for place, count in waits.places.most_common(5):
        print(f"  {count} x at {place}")
    if device.type == "cuda" and None not in busy:
        print(f"GPU busy during the full steps (NVML, after each round): median {statistics.median(busy):.0f} %")
    elif device.type == "cuda":
        print("GPU busy share: not measured (torch.cuda.utilization needs pynvml: pip install nvidia-ml-py)")
    print(
        f"loader {rate:.0f} samples/s ({args.workers} workers, crop cache) "
        f"vs training consumption {consumed:.1f} samples/s: "
        f"ratio {rate / consumed:.1f} (goal >= 1)"
    )


def gpu_busy_percent(device) -> float | None:
    """The GPU's busy share (%) over NVML's last sample period, or None (CPU, or no NVML)."""
    if device.type != "cuda":
        return None
    try:
        return float(torch.cuda.utilization(device))
    except Exception:  # pynvml missing or not supported: say nothing rather than guess
        return None


def split(args):
    """The parts of one training step of ``--profile``'s ``--variant`` at its own image size."""
    from hmrlib.train import Trainer, profile
    from hmrlib.train.config import override
    from hmrlib.train.losses import joint_loss, rotation_loss, vertex_losses
    from hmrlib.train.timing import first_batch, median_seconds

    warnings.filterwarnings("ignore", message="no ImageNet weights")
    config = profile(args.profile, args.variant, data_root=args.data)
    for assignment in args.set:
        config = override(config, assignment)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, run_dir, progress=False)
        device, body, generator = trainer.device, trainer.body, trainer.generator.train()
        batch = first_batch(trainer.train_set, config.optim.batch_size, device)
        pose = torch.cat([batch["global_orient"], batch["body_pose"]], 1)
        predicted_pose = pose.clone().requires_grad_(True)
        target = body.mesh(pose, batch["betas"], batch["transl"])

        def backbone():
            out = generator(batch["image"])
            total = out.pose.sum() + out.betas.sum()
            if out.heatmaps is not None:
                total = total + out.heatmaps.sum()
            total.backward()

        def body_model():
            with torch.no_grad():
                body.mesh(pose, batch["betas"], batch["transl"])
            predicted = body.mesh(predicted_pose, batch["betas"], batch["transl"])
            predicted.vertices.sum().backward()

        def losses():
            predicted = target.vertices.detach().requires_grad_(True)
            terms = vertex_losses(predicted, target.vertices)
            total = sum(terms.values()) + rotation_loss(predicted_pose, pose)
            total = total + joint_loss(predicted[:, :24], target.vertices[:, :24])
            total.backward()

        def discriminator():
            if trainer.discriminator is not None:
                trainer._discriminator_step(pose)

        parts = {
            "backbone + heads": backbone,
            "body model": body_model,
            "losses": losses,
            "discriminator": discriminator,
        }
        times = {name: [] for name in [*parts, "full step"]}
        for _ in range(args.rounds):
            for name, fn in parts.items():
                times[name].append(median_seconds(fn, args.steps, device))
            times["full step"].append(median_seconds(lambda: trainer.step(batch), args.steps, device))
    medians = {name: statistics.median(values) for name, values in times.items()}
    full = medians.pop("full step")
    print(
        f"{args.profile} {args.variant} at {config.data.image_size}x{config.data.image_size}, batch "
        f"{config.optim.batch_size}, CPU {torch.get_num_threads()} threads, {body.num_vertices} vertices; "
        f"medians of {args.rounds} x {args.steps} steps"
    )
    for name, seconds in medians.items():
        print(f"  {name:18s} {1000 * seconds:7.1f} ms  {100 * seconds / full:5.1f} % of the step")
    rest = full - sum(medians.values())
    print(f"  {'rest (optimiser)':18s} {1000 * rest:7.1f} ms  {100 * rest / full:5.1f} %")
    print(f"  {'full step':18s} {1000 * full:7.1f} ms")


if __name__ == "__main__":
    main()
