"""Timing training steps honestly: warm-up first, the device synchronised around every timed
call, the median of several (a noisy machine's best try is not a measurement)."""

import statistics
import time

import torch


def synchronize(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn, steps: int, device: torch.device, warmup: int = 2) -> float:
    """Median wall time of ``steps`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_batch(dataset, batch_size: int, device: torch.device) -> dict:
    """One training batch, already on ``device`` (so that timings leave out the transfer)."""
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)))
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
