"""The same training step in two versions of hmrlib, timed in one run: is a change slower?

Each version runs in its own Python process (the other version's code on PYTHONPATH, taken from
git into a temporary folder), the two alternating for --rounds rounds so that noise on the machine
hits both; each process reports the median of --steps timed steps of a profile's variant at its
size (48² for `cpu`), on the device the profile would use here. Prints the medians over rounds
and their ratio (new / old; below 1 is faster).

    python benchmarks/bench_versions.py --old 5b50da7 [--new HEAD] [--profile cpu] [--variant resnet50]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMER = """
import json, sys, tempfile, warnings
from dataclasses import replace
warnings.simplefilter("ignore")
from hmrlib.train import Trainer, profile
from hmrlib.train.timing import first_batch, median_seconds
name, variant, data, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
config = profile(name, variant, data_root=data)
with tempfile.TemporaryDirectory() as run:
    trainer = Trainer(config, run, progress=False)
    batch = first_batch(trainer.train_set, config.optim.batch_size, trainer.device)
    print(json.dumps(median_seconds(lambda: trainer.step(batch), steps, trainer.device)))
"""


def checkout(revision: str, folder: Path) -> Path:
    """The package of ``revision`` and its stand-in body (or the working tree for 'WORKTREE') in ``folder``."""
    if revision == "WORKTREE":
        return REPO
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "hmrlib", "data/body_models"], capture_output=True, check=True
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def time_step(code_root: Path, args) -> float:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out = subprocess.run(
        [sys.executable, "-c", TIMER, args.profile, args.variant, str(args.data), str(args.steps)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode:
        raise SystemExit(f"timing {code_root} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="a git revision")
    parser.add_argument("--new", default="WORKTREE", help="a git revision (default: the working tree)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--variant", default="resnet50")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "synth_small")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as old_dir, tempfile.TemporaryDirectory() as new_dir:
        roots = {"old": checkout(args.old, Path(old_dir)), "new": checkout(args.new, Path(new_dir))}
        for round_ in range(args.rounds):
            for which in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                times[which].append(time_step(roots[which], args))
                print(f"round {round_ + 1} {which}: {1000 * times[which][-1]:.1f} ms/step", flush=True)
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(
        f"{args.profile} {args.variant}: old {args.old} {1000 * old:.1f} ms/step, new {args.new} {1000 * new:.1f} "
        f"ms/step (medians of {args.rounds} rounds x {args.steps} steps); new / old = {new / old:.3f}"
    )


if __name__ == "__main__":
    main()
