"""Loader speed: samples/s from JPEGs (decode + crop + resize) against the memory-mapped crop cache.

    python benchmarks/bench_loader.py [--data DIR] [--size 128] [--workers 2]

Renders the tiny SynthH36M set to a temporary folder when --data is not given.
"""

import argparse
import tempfile
import time

import torch


def samples_per_second(dataset, workers: int, batch_size: int = 16) -> float:
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=False
    )
    start, count = time.perf_counter(), 0
    for batch in loader:
        count += len(batch["image"])
    return count / (time.perf_counter() - start)


def main():
    from hmrlib.data.dataset import H36MDataset
    from hmrlib.data.synth import SynthConfig, generate

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or generate(tmp, SynthConfig(size="tiny"), progress=False) and tmp
        jpeg = H36MDataset(root, image_size=args.size)
        cached = H36MDataset(root, image_size=args.size, cache_dir=f"{tmp}/cache", progress=False)
        from_jpeg = samples_per_second(jpeg, args.workers)
        from_cache = samples_per_second(cached, args.workers)
    print(
        f"{len(jpeg)} samples at {args.size}px, {args.workers} workers: "
        f"JPEG {from_jpeg:.0f} samples/s, cache {from_cache:.0f} samples/s"
    )
    print(f"ratio cache / JPEG: {from_cache / from_jpeg:.1f}")


if __name__ == "__main__":
    main()
