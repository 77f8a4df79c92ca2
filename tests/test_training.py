import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hmrlib.errors import ConfigError
from hmrlib.train import Trainer, TrainingDiverged, profile
from hmrlib.train.checkpoint import CheckpointError, latest, load

ROOT = Path(__file__).resolve().parents[1]


def tiny(data_root, variant="resnext_supergat_disc", **changes):
    return replace(profile("tiny", variant, data_root=data_root), **changes)


def train_in_subprocess(config, run_dir, kill_after_checkpoint=None):
    """Train in a child process; optionally SIGKILL it once the given checkpoint step exists."""
    import json

    (run_dir).mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    code = (
        "import json, sys; from hmrlib.train import Trainer, TrainConfig;"
        f"config = TrainConfig.from_dict(json.load(open({str(run_dir / 'config.json')!r})));"
        f"Trainer(config, {str(run_dir)!r}, progress=False).run()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    if kill_after_checkpoint is None:
        assert child.wait(timeout=600) == 0
        return
    target = run_dir / "checkpoints" / f"step_{kill_after_checkpoint:07d}.pt"
    deadline = time.time() + 600
    while not target.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert target.exists(), "the child never wrote the checkpoint"
    child.send_signal(signal.SIGKILL)
    child.wait()


def losses(run_dir):
    return pd.read_csv(run_dir / "train_log.csv").set_index("step")


def test_killed_run_resumes_with_identical_losses(tiny_root, tmp_path):
    """SIGKILL after the step-4 checkpoint, resume: the same numbers as an uninterrupted run, to
    the bit (on all the machine's threads), and the training time goes on from the checkpoint's."""
    config = tiny(tiny_root)
    train_in_subprocess(config, tmp_path / "straight")
    train_in_subprocess(config, tmp_path / "killed", kill_after_checkpoint=4)
    train_in_subprocess(config, tmp_path / "killed")  # resumes from the last checkpoint
    straight, resumed = losses(tmp_path / "straight"), losses(tmp_path / "killed")
    assert list(resumed.index) == list(range(1, 13))  # every step logged once
    columns = ["loss", "vertex_l1", "vertex_l2", "attention", "disc_loss", "noise_mean", "p"]
    pd.testing.assert_frame_equal(resumed[columns], straight[columns])
    assert resumed.seconds.is_monotonic_increasing  # not restarted at 0 by the resume


def test_same_seed_same_numbers_with_a_cold_or_a_warm_crop_cache(tiny_root, tmp_path):
    """Two runs of the full model, the first building the crop cache and the second reading it:
    identical losses, validation scores and weights."""
    config = tiny(tiny_root)
    config = replace(config, data=replace(config.data, cache_dir=str(tmp_path / "cache")))
    trainers = []
    for run in ("cold", "warm"):
        trainer = Trainer(config, tmp_path / run, progress=False)
        trainer.run()
        trainers.append(trainer)
    assert list((tmp_path / "cache").iterdir())  # the first run did build a cache
    for log in ("train_log.csv", "val_log.csv"):
        cold, warm = (
            pd.read_csv(tmp_path / run / log).drop(columns="seconds", errors="ignore") for run in ("cold", "warm")
        )
        pd.testing.assert_frame_equal(cold, warm)
    cold, warm = (t.generator.state_dict() for t in trainers)
    assert all(torch.equal(cold[name], warm[name]) for name in cold)


def test_checkpoints_are_plain_data_and_rolling(tiny_root, tmp_path):
    config = replace(tiny(tiny_root, "resnet50"), keep_checkpoints=2)
    Trainer(config, tmp_path, progress=False).run()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["best.pt", "step_0000008.pt", "step_0000012.pt"]
    state = load(latest(tmp_path / "checkpoints"))  # weights_only=True
    assert state["iteration"] == 12 and state["config"]["model"]["variant"] == "resnet50"
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bad.pt: not a readable hmrlib checkpoint"):
        load(tmp_path / "bad.pt")


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tiny_root, tmp_path):
    trainer = Trainer(tiny(tiny_root, "resnet50"), tmp_path, progress=False)
    original = trainer.step
    calls = {"n": 0}

    def poisoned(batch):
        calls["n"] += 1
        if calls["n"] == 6:
            batch = dict(batch, image=batch["image"] * float("nan"))
        return original(batch)

    trainer.step = poisoned
    with pytest.raises(
        TrainingDiverged, match=r"step 6: a loss became NaN or inf.* Last good checkpoint: .*step_0000004.pt"
    ):
        trainer.run()
    state = load(tmp_path / "checkpoints" / "step_0000004.pt")
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())


def test_a_tiny_configuration_overfits_one_batch(tiny_root, tmp_path):
    """Without dropout or augmentation, 50 steps on one batch of 8 cut its vertex error tenfold."""
    base = profile("tiny", "resnext_supergat", data_root=tiny_root)
    config = replace(
        base,
        optim=replace(base.optim, batch_size=8),
        augment=replace(base.augment, p_max=0.0),
        model=replace(base.model, gat_dropout=0.0, shape_dropout=0.0),
    )
    trainer = Trainer(config, tmp_path, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=8)))
    errors = [float(trainer.step(batch)["vertex_l2"]) for _ in range(50)]
    assert np.mean(errors[-5:]) < 0.1 * errors[0]


def test_two_process_ddp_on_gloo(tiny_root, tmp_path):
    """Two ranks under torchrun: identical weights and noise after training, but disjoint shards
    of the data and random streams of their own (rules out every rank drawing the same dropout
    masks), and a non-finite loss on one rank only under float16 skipped by both (rules out a skip on
    one rank leaving the ranks' collectives out of step: a hang until the timeout)."""
    import json

    config = replace(tiny(tiny_root), amp="float16", ddp_timeout_s=120)
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    script = tmp_path / "ddp_train.py"
    script.write_text(
        "import gc, json, sys, torch, torch.distributed as dist\n"
        "from hmrlib.train import Trainer, TrainConfig\n"
        "from hmrlib.train.trainer import end_distributed\n"
        f"config = TrainConfig.from_dict(json.load(open({str(tmp_path / 'config.json')!r})))\n"
        f"trainer = Trainer(config, {str(tmp_path / 'run')!r}, progress=False)\n"
        "seen, step = [], trainer.step\n"
        "def recording_step(batch):\n"
        "    seen.extend(batch['id'])\n"
        "    if dist.get_rank() == 1 and trainer.iteration == 3:\n"
        "        batch = dict(batch, image=batch['image'] * float('nan'))\n"
        "    return step(batch)\n"
        "trainer.step = recording_step\n"
        "trainer.run()\n"
        "flat = torch.cat([p.detach().flatten() for p in trainer.generator.parameters()])\n"
        "gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]\n"
        "dist.all_gather(gathered, flat)\n"
        "assert torch.equal(gathered[0], gathered[1]), 'ranks diverged'\n"
        "noise = [torch.zeros(24) for _ in range(2)]\n"
        "dist.all_gather(noise, trainer.discriminator.noise_std.clone())\n"
        "assert torch.equal(noise[0], noise[1])\n"
        "shards, draws = [None, None], [None, None]\n"
        "dist.all_gather_object(shards, seen)\n"
        "dist.all_gather_object(draws, torch.rand(8).tolist())\n"
        "assert len(seen) == 12 * 4 and not set(shards[0][:24]) & set(shards[1][:24]), 'ranks read the same frames'\n"
        "assert draws[0] != draws[1], 'ranks draw the same dropout masks'\n"
        "print('DDP-OK', dist.get_rank(), flush=True)\n"
        "del trainer\n"
        "gc.collect()\n"
        "end_distributed()\n"
        "print('ENDED', flush=True)\n"
    )
    result = subprocess.run(
        # --standalone: a free port of its own, so a lingering process cannot collide with this one
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, output
    assert result.stdout.count("DDP-OK") == 2 and result.stdout.count("ENDED") == 2, output
    log = pd.read_csv(tmp_path / "run" / "train_log.csv")
    assert log.step.tolist() == list(range(1, 13))
    assert log.skipped.tolist() == [0.0] * 3 + [1.0] + [0.0] * 8  # rank 0's loss was finite, yet it skipped


def test_evaluate_and_submission_commands(tiny_root, tmp_path):
    from hmrlib.__main__ import main

    run = tmp_path / "run"
    Trainer(tiny(tiny_root, "resnet50"), run, progress=False).run()
    main(
        [
            "evaluate",
            "--checkpoint",
            str(run / "checkpoints" / "best.pt"),
            "--data",
            str(tiny_root),
            "--subjects",
            "S9",
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    summary = pd.read_csv(tmp_path / "eval" / "summary.csv")
    assert summary.action.iloc[0] == "all" and summary.samples.iloc[0] == 240 and len(summary) == 16
    per_sample = pd.read_csv(tmp_path / "eval" / "per_sample.csv")
    assert (per_sample.mse_m2 >= 0).all() and per_sample.id.str.match(r"S9/\w+\.\d+/\d\.npz").all()
    main(
        [
            "submission",
            "--checkpoint",
            str(run / "checkpoints" / "step_0000012.pt"),
            "--data",
            str(tiny_root),
            "--subjects",
            "S9",
            "--out",
            str(tmp_path / "results.csv"),
        ]
    )
    results = pd.read_csv(tmp_path / "results.csv")
    assert list(results.columns) == ["id", "root_loc", "root_orient", "betas", "pose_body", "pose_hand"]
    assert len(results) == 240
    row = results.iloc[0]
    assert [len(json.loads(row[c])) for c in results.columns[1:]] == [3, 3, 10, 63, 6]
    params = np.load(tiny_root / "H36M_data_st" / row.id)
    np.testing.assert_allclose(json.loads(row.root_loc), params["root_loc"], atol=1e-5)


def test_the_attention_loss_stays_bounded(tiny_root, tmp_path):
    """The full model for 80 steps on the tiny data: SuperGAT's attention loss and its largest
    logit (both in the training log) do not grow. An earlier version's loss went from 8 to 1,450
    in 100 steps of the cpu profile."""
    base = tiny(tiny_root)
    config = replace(base, optim=replace(base.optim, iterations=80), val_every=80, checkpoint_every=80, log_every=5)
    Trainer(config, tmp_path, progress=False).run()
    log = pd.read_csv(tmp_path / "train_log.csv")
    first, last = log.iloc[:2], log.iloc[-4:]
    assert last.attention.max() < 1.5 * first.attention.mean(), log[["step", "attention", "attention_logit_max"]]
    assert last.attention_logit_max.max() < 3 * first.attention_logit_max.mean() + 5


def test_learning_rate_warms_up_then_decays_to_zero():
    from hmrlib.train.config import OptimConfig
    from hmrlib.train.trainer import lr_factor

    optim = OptimConfig(iterations=100, warmup_iterations=10, schedule="cosine")
    factors = [lr_factor(i, optim) for i in range(100)]
    assert factors[0] == 0.1 and factors[9] == 1.0  # linear warm-up over 10 iterations
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))  # then never up
    assert factors[-1] < 1e-3
    assert {lr_factor(i, OptimConfig(iterations=100)) for i in range(100)} == {1.0}  # the paper's: constant
    with pytest.raises(ConfigError, match="schedule must be"):
        OptimConfig(schedule="step")


def test_the_heads_learning_rate_is_scaled_and_the_backbone_keeps_its_own(tiny_root, tmp_path):
    base = tiny(tiny_root, "resnet50")
    config = replace(base, optim=replace(base.optim, head_lr_scale=0.1, iterations=1))
    trainer = Trainer(config, tmp_path, progress=False)
    backbone_group, heads_group = trainer.opt_g.param_groups
    assert {id(p) for p in backbone_group["params"]} == {id(p) for p in trainer.generator.backbone.parameters()}
    heads = [*trainer.generator.pose_head.parameters(), *trainer.generator.shape_head.parameters()]
    assert {id(p) for p in heads_group["params"]} == {id(p) for p in heads}
    trainer.run()
    assert heads_group["lr"] == pytest.approx(0.1 * backbone_group["lr"]) and backbone_group["lr"] > 0


def test_validating_does_not_change_the_training(tiny_root, tmp_path):
    """Rules out a validation that draws from the global RNG (a DataLoader without its own
    generator draws its seed there): the dropout masks after it, hence the run, depended on
    val_every."""
    logs = []
    for val_every in (4, 12):
        run = tmp_path / f"val{val_every}"
        Trainer(replace(tiny(tiny_root), val_every=val_every), run, progress=False).run()
        logs.append(pd.read_csv(run / "train_log.csv").loss.to_numpy())
    assert np.array_equal(logs[0], logs[1])
