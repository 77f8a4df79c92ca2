"""Command line: ``python -m hmrlib <command> --help``."""
import argparse
import sys
from pathlib import Path


def _build_standin(args):
    import json

    import numpy as np

    from hmrlib.body.build_standin import build_standin

    arrays = build_standin(num_bodies=args.bodies, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    meta = json.loads(str(arrays["metadata"]))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {arrays['v_template'].shape[0]} vertices, "
          f"explained variance of the 10 betas {sum(meta['explained_variance']):.4f}")


def _show_body(args):
    from hmrlib.body.pictures import body_picture

    image = body_picture(args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.fromarray(image).save(args.out)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")


def _reproduce(args):
    """The main job. Today: the body-model picture; later issues add data, training, figures."""
    args.model, args.out = None, args.runs / "body_model.png"
    _show_body(args)


def main(argv=None):
    from hmrlib.body import STANDIN_PATH

    parser = argparse.ArgumentParser(prog="python -m hmrlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-standin", help="build the free SMPL-format stand-in body model from anny")
    build.add_argument("--out", type=Path, default=STANDIN_PATH)
    build.add_argument("--bodies", type=int, default=400, help="adult bodies sampled for the shape space")
    build.add_argument("--seed", type=int, default=0)
    build.set_defaults(run=_build_standin)

    show = commands.add_parser("show-body", help="render a body model in T-pose and posed, front and side, to a PNG")
    show.add_argument("--model", default=None, help="SMPL .pkl / model.npz / folder; default: the stand-in")
    show.add_argument("--out", type=Path, default=Path("runs/body_model.png"))
    show.set_defaults(run=_show_body)

    reproduce = commands.add_parser("reproduce", help="the main job on the embedded defaults, results under runs/")
    reproduce.add_argument("--runs", type=Path, default=Path("runs"))
    reproduce.set_defaults(run=_reproduce)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
