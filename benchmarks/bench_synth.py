"""SynthH36M generation speed: images/s of the whole pipeline against a bare EGL render.

    python benchmarks/bench_synth.py [--processes 2] [--units 4]

Prints the full pipeline's images/s (goal: >= 30 on 2 cores) and, from the same run, the ratio of
its per-image time per process to one bare render of the body at the same size.
"""

import argparse
import tempfile
import time

import torch


def bare_render_ms(repeats: int = 40) -> float:
    from hmrlib.body import load_body_model
    from hmrlib.camera import look_at
    from hmrlib.data.synth import SynthConfig
    from hmrlib.render import Renderer

    body = load_body_model()
    intrinsics = SynthConfig().cameras()["55011271"]
    with torch.no_grad():
        vertices = body.mesh(torch.zeros(1, 72), torch.zeros(1, 10)).vertices[0].numpy()
    renderer, extrinsic = Renderer(), look_at([3.0, 1.6, 3.0], [0.0, 0.0, 0.0])
    renderer.render([(vertices, body.faces, (0.6, 0.6, 0.8, 1.0))], intrinsics, extrinsic)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        renderer.render([(vertices, body.faces, (0.6, 0.6, 0.8, 1.0))], intrinsics, extrinsic)
    return 1000 * (time.perf_counter() - start) / repeats


def main():
    from hmrlib.data.h36m import ACTIONS
    from hmrlib.data.synth import SIZES, SynthConfig, generate

    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--units", type=int, default=4, help="(subject, action) units of the small size to render")
    args = parser.parse_args()
    render_ms = bare_render_ms()
    with tempfile.TemporaryDirectory() as out:
        config = SynthConfig(size="small")
        # mark all but the first few units done, so the benchmark renders a fixed amount
        from pathlib import Path

        done = Path(out) / ".synth"
        done.mkdir(parents=True)
        units = [(s, a) for s in SIZES["small"].subjects for a in ACTIONS]
        for subject, action in units[args.units :]:
            (done / f"{subject}.{action}.done").touch()
        start = time.perf_counter()
        images = generate(out, config, processes=args.processes, progress=False)
        seconds = time.perf_counter() - start
    rate = images / seconds
    per_image_ms = 1000 * args.processes / rate
    camera = config.cameras()["55011271"]
    print(f"bare EGL render of the body, {camera.width}x{camera.height}: {render_ms:.1f} ms")
    print(
        f"full pipeline: {images} images in {seconds:.1f} s with {args.processes} processes = {rate:.1f} images/s "
        f"(goal >= 30: {'met' if rate >= 30 else 'missed'}; includes process start-up)"
    )
    print(f"ratio, pipeline time per image per process / bare render: {per_image_ms / render_ms:.2f}")


if __name__ == "__main__":
    main()
