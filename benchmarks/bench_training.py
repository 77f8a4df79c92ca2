"""Training-step cost, each ratio measured within one run:
1. a full training step (augmentation, generator with SuperGAT and shape heads, body model for
   target and prediction, losses, discriminator step, noise update) against a backbone-only step
   (ResNeXt-50 forward + backward + AdamW on the same trainable weights) — goal <= 1.3;
2. the loader's samples/s against what training consumes (batch / step time) — goal >= 1.

    python benchmarks/bench_training.py [--data data/synth_small] [--size 224] [--steps 5]
"""
import argparse
import time
import warnings
from dataclasses import replace

import torch


def timed(fn, steps: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def main():
    from hmrlib.train import Trainer, profile

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/synth_small")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="no ImageNet weights")
    config = profile("paper", "resnext_supergat_disc", data_root=args.data)
    config = replace(config, data=replace(config.data, image_size=args.size, workers=args.workers), augment=replace(config.augment, ramp_iterations=0, p_max=0.75))
    with tempfile_dir() as run_dir:
        trainer = Trainer(config, run_dir, progress=False)
        batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=config.optim.batch_size, shuffle=True)))
        generator = trainer.generator.train()
        params = [p for p in generator.backbone.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=1e-4)

        def backbone_step():
            loss = generator.backbone(batch["image"]).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

        ratios = []
        for _ in range(2):  # interleaved, so noise on the machine hits both
            bare = timed(backbone_step, args.steps)
            full = timed(lambda: trainer.step(batch), args.steps)
            ratios.append((full / bare, full, bare))
        ratio, full, bare = min(ratios)
        loader = torch.utils.data.DataLoader(trainer.train_set, batch_size=config.optim.batch_size, shuffle=True, num_workers=args.workers)
        start, count = time.perf_counter(), 0
        for i, b in enumerate(loader):
            count += len(b["image"])
            if i == 40:
                break
        rate = count / (time.perf_counter() - start)
    consumed = config.optim.batch_size / full
    print(f"{args.size}x{args.size}, batch {config.optim.batch_size}, {torch.get_num_threads()} threads, p = 0.75 (every op active)")
    print(f"backbone-only step {bare:.3f} s, full step {full:.3f} s: ratio {ratio:.2f} (goal <= 1.3)")
    print(f"loader {rate:.0f} samples/s ({args.workers} workers, JPEG decode + crop) vs training consumption {consumed:.1f} samples/s: "
          f"ratio {rate / consumed:.1f} (goal >= 1)")


class tempfile_dir:
    def __enter__(self):
        import tempfile
        self._dir = tempfile.TemporaryDirectory()
        return self._dir.name

    def __exit__(self, *exc):
        self._dir.cleanup()


if __name__ == "__main__":
    main()
