"""Single-image CPU inference: the full model (ResNeXt-50 + SuperGAT + shape MLP + body mesh)
against the bare ResNeXt-50 forward, 224x224, measured in one run. Goal: ratio <= 1.25.

    python benchmarks/bench_inference.py [--repeats 20] [--threads 2]
"""

import argparse
import time
import warnings

import torch


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def main():
    from hmrlib.body import load_body_model
    from hmrlib.models import Generator, ModelConfig

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="no ImageNet weights")
    model, body = Generator(ModelConfig(variant="resnext_supergat_disc")).eval(), load_body_model()

    def full_model():
        out = model(image)
        return body.mesh(out.pose, out.betas, transl)

    image, transl = torch.rand(1, 3, 224, 224), torch.tensor([[0.0, 0.0, 5.0]])
    with torch.inference_mode():
        # interleave the two measurements so machine noise hits both alike
        full, bare = [], []
        for _ in range(3):
            bare.append(median_ms(lambda: model.backbone(image), args.repeats // 3 + 1))
            full.append(median_ms(full_model, args.repeats // 3 + 1))
    bare_ms, full_ms = min(bare), min(full)
    print(f"bare ResNeXt-50 forward, 1 x 224^2, {args.threads} threads: {bare_ms:.1f} ms")
    print(
        f"full model (backbone + SuperGAT pose head + shape head + {body.num_vertices}-vertex mesh): {full_ms:.1f} ms"
    )
    print(f"ratio full / bare: {full_ms / bare_ms:.3f} (goal <= 1.25)")


if __name__ == "__main__":
    main()
