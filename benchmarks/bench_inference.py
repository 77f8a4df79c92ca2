"""Inference speed, each comparison measured within one run (these machines are noisy):

1. single image, 224x224: the full model (ResNeXt-50 + SuperGAT + shape MLP + body mesh) against
   the bare ResNeXt-50 forward (goal: ratio <= 1.25);
2. a folder of 64 images through ``predict_jobs`` (crop, generator, body mesh, placement), in
   batches of ``--batch-size`` against one by one: images per second, and the person detector's
   own time per image.

    python benchmarks/bench_inference.py [--repeats 20] [--threads 2] [--device cpu] [--batch-size 16]
"""

import argparse
import time
import warnings

import numpy as np
import torch


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def synchronised(fn, device):
    def run():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return run


def folder_of_images(count: int) -> list[np.ndarray]:
    """``count`` photographs (scikit-image's astronaut and cameraman, shifted) of 512 px."""
    import skimage.data

    photos = [skimage.data.astronaut(), np.repeat(skimage.data.camera()[..., None], 3, 2)]
    return [np.roll(photos[k % 2], 7 * k, axis=1) for k in range(count)]


def main():
    from hmrlib.body import load_body_model
    from hmrlib.models import Generator, ModelConfig
    from hmrlib.people.detect import PersonDetector
    from hmrlib.people.predict import find_jobs, predict_jobs

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    warnings.filterwarnings("ignore", message="no ImageNet weights")
    model = Generator(ModelConfig(variant="resnext_supergat_disc", pretrained="none")).eval().to(device)
    body = load_body_model(device=device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"

    def full_model():
        out = model(image)
        return body.mesh(out.pose, out.betas, transl)

    image, transl = torch.rand(1, 3, 224, 224, device=device), torch.tensor([[0.0, 0.0, 5.0]], device=device)
    with torch.inference_mode():
        # interleave the two measurements so machine noise hits both alike
        full, bare = [], []
        for _ in range(3):
            bare.append(median_ms(synchronised(lambda: model.backbone(image), device), args.repeats // 3 + 1))
            full.append(median_ms(synchronised(full_model, device), args.repeats // 3 + 1))
    bare_ms, full_ms = float(np.median(bare)), float(np.median(full))
    print(f"[{name}] bare ResNeXt-50 forward, 1 x 224^2: {bare_ms:.1f} ms")
    print(f"[{name}] full model (backbone + SuperGAT + shape head + {body.num_vertices}-vertex mesh): {full_ms:.1f} ms")
    print(f"[{name}] ratio full / bare: {full_ms / bare_ms:.3f} (goal <= 1.25)")

    photos = folder_of_images(args.images)
    detector = PersonDetector(max_people=1)
    start = time.perf_counter()
    jobs = [find_jobs(photo, detector)[0] for photo in photos]
    detect_s = time.perf_counter() - start
    batched, single = [], []
    for _ in range(3):  # interleaved, medians
        start = time.perf_counter()
        for k in range(0, len(jobs), args.batch_size):
            predict_jobs(model, body, jobs[k : k + args.batch_size])
        batched.append(time.perf_counter() - start)
        start = time.perf_counter()
        for job in jobs:
            predict_jobs(model, body, [job])
        single.append(time.perf_counter() - start)
    batched_rate, single_rate = len(jobs) / float(np.median(batched)), len(jobs) / float(np.median(single))
    print(f"[{name}] {len(jobs)} images, crop + network + mesh + placement (medians of 3):")
    print(
        f"[{name}]   batches of {args.batch_size}: {batched_rate:.1f} images/s; one by one: {single_rate:.1f} "
        f"images/s; ratio {batched_rate / single_rate:.2f}"
    )
    print(f"[{name}]   person detector (MediaPipe BlazePose, CPU): {1000 * detect_s / len(jobs):.1f} ms an image")


if __name__ == "__main__":
    main()
