"""The GPU path, exercised by what a CPU can run: mixed precision (bfloat16 and float16 autocast
work on the CPU too), skipping non-finite steps under AMP, checkpoints that move between device
types, the process-group backend and timeout, what DDP broadcasts, and the strict paper profile."""

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import torch

from hmrlib.models import Generator, ModelConfig
from hmrlib.train import Trainer, TrainingDiverged, profile
from hmrlib.train.checkpoint import latest, load
from hmrlib.train.trainer import load_scaler_state, process_group_backend, start_distributed


def tiny(root, variant="resnext_supergat_disc", **changes):
    return replace(profile("tiny", variant, data_root=root), **changes)


def test_bfloat16_autocast_runs_the_generator_with_float32_heads():
    generator = Generator(ModelConfig(variant="resnext_supergat", pretrained="none")).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = generator(torch.rand(2, 3, 64, 64))
    assert out.pose.dtype == out.betas.dtype == out.attention_loss.dtype == torch.float32
    assert torch.isfinite(out.pose).all() and torch.isfinite(out.attention_loss)
    (out.pose.square().mean() + out.attention_loss).backward()
    assert all(p.grad is not None for p in generator.pose_head.parameters())


@pytest.mark.parametrize("amp", ["bfloat16", "float16"])
def test_a_training_step_under_autocast(tiny_root, tmp_path, amp):
    trainer = Trainer(tiny(tiny_root, amp=amp), tmp_path, progress=False)
    assert trainer.scaler.is_enabled() == (amp == "float16")  # scaling is for float16 only
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    values = [{k: float(v) for k, v in trainer.step(batch).items()} for _ in range(2)]
    assert all(np.isfinite(v["loss"]) and v["skipped"] == 0 for v in values)
    assert np.isfinite(values[-1]["attention"]) and np.isfinite(values[-1]["disc_loss"])


def poison(trainer, steps):
    """Make the batches of the given (0-based) step numbers produce a NaN loss."""
    original = trainer.step

    def step(batch):
        if trainer.iteration in steps:
            batch = dict(batch, image=batch["image"] * float("nan"))
        return original(batch)

    trainer.step = step


def test_under_amp_a_non_finite_step_is_skipped_and_training_goes_on(tiny_root, tmp_path):
    """float16 with its GradScaler: an overflow's step is left out (GradScaler's design)."""
    trainer = Trainer(tiny(tiny_root, amp="float16", max_nonfinite_steps=3), tmp_path, progress=False)
    poison(trainer, {5, 6})
    trainer.run()
    log = pd.read_csv(tmp_path / "train_log.csv").set_index("step")
    assert log.loc[[6, 7], "skipped"].tolist() == [1.0, 1.0] and log.drop([6, 7]).skipped.eq(0).all()
    assert trainer.iteration == 12
    assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())


def test_under_amp_training_stops_after_n_non_finite_steps_in_a_row(tiny_root, tmp_path):
    trainer = Trainer(tiny(tiny_root, amp="float16", max_nonfinite_steps=3), tmp_path, progress=False)
    poison(trainer, {5, 6, 7})
    with pytest.raises(TrainingDiverged, match=r"step 7: .*3 non-finite steps in a row.*step_0000004.pt"):
        trainer.run()


@pytest.mark.parametrize("first, then", [("off", "float16"), ("float16", "off")])
def test_a_checkpoint_resumes_with_the_other_device_types_scaler(tiny_root, tmp_path, first, then):
    """A CPU run saves a disabled GradScaler's empty state, a CUDA float16 run an enabled one's;
    each resumes under the other (both states built on the CPU here)."""
    config = tiny(tiny_root, "resnet50", amp=first)
    Trainer(replace(config, optim=replace(config.optim, iterations=4)), tmp_path, progress=False).run()
    saved = load(latest(tmp_path / "checkpoints"))
    assert (saved["scaler"] == {}) == (first == "off")
    resumed = Trainer(replace(config, amp=then), tmp_path, progress=False)
    assert resumed.iteration == 4 and resumed.scaler.is_enabled() == (then == "float16")
    resumed.run()
    assert resumed.iteration == 12


def test_scaler_states_load_across_enabled_and_disabled():
    enabled, disabled = torch.amp.GradScaler("cpu", init_scale=1024.0), torch.amp.GradScaler("cpu", enabled=False)
    load_scaler_state(enabled, disabled.state_dict())  # {}: keep the fresh scale
    assert enabled.get_scale() == 1024.0
    load_scaler_state(disabled, torch.amp.GradScaler("cpu", init_scale=8.0).state_dict())
    assert not disabled.is_enabled()
    load_scaler_state(enabled, torch.amp.GradScaler("cpu", init_scale=8.0).state_dict())
    assert enabled.get_scale() == 8.0


def test_training_random_streams_live_on_the_training_device(tiny_root, tmp_path):
    """A step draws where it computes (a host draw copied to a GPU waits); a checkpoint whose
    streams were drawn on another kind of device resumes with fresh ones, and says so."""
    from hmrlib.errors import HmrlibWarning
    from hmrlib.train.checkpoint import restore_rng, rng_state

    trainer = Trainer(tiny(tiny_root), tmp_path, progress=False)
    assert all(g.device == trainer.device for g in trainer.rngs.values())
    state = rng_state(trainer.rngs)
    state["generators"]["augment"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state is 16 bytes
    with pytest.warns(HmrlibWarning, match="augment random streams were drawn on another kind of device"):
        restore_rng(state, trainer.rngs)


def test_the_backend_follows_the_device_and_the_timeout_is_passed(monkeypatch):
    assert process_group_backend(torch.device("cpu")) == "gloo"
    assert process_group_backend(torch.device("cuda", 0)) == "nccl"
    calls = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(
        torch.distributed,
        "init_process_group",
        lambda backend, timeout, device_id: calls.append((backend, timeout, device_id)),
    )
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 1)
    assert start_distributed(torch.device("cpu"), 7200) == (1, 2)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    start_distributed(torch.device("cuda", 1), 60)  # NCCL bound to this rank's GPU from the start
    assert calls == [("gloo", timedelta(seconds=7200), None), ("nccl", timedelta(seconds=60), torch.device("cuda", 1))]


def test_ddp_broadcasts_no_body_model():
    """DDP re-broadcasts a module's buffers every step: the generator's are BatchNorm statistics
    and the mean pose, not the body model's 40 MB."""
    generator = Generator(ModelConfig(variant="resnext_supergat", pretrained="none"))
    names = [name for name, _ in generator.named_buffers()]
    size = sum(b.numel() * b.element_size() for b in generator.buffers())
    assert not any("body" in name or "smpl" in name for name in names)
    assert size < 1_000_000, size


def hmrlib(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "hmrlib", *map(str, args)], capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def course_layout(tiny_root, tmp_path_factory):
    """The tiny set without SynthH36M's manifest: what the course's data looks like to hmrlib."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(tiny_root, root, dirs_exist_ok=True)
    (root / "synth_manifest.json").unlink()
    return root


def test_the_paper_profile_refuses_the_stand_in_and_missing_weights(course_layout, tmp_path, monkeypatch):
    import os

    env = {k: v for k, v in os.environ.items() if k != "HMRLIB_BODY_MODEL"}
    env["TORCH_HOME"] = str(tmp_path / "torch")  # an empty hub cache: no ImageNet weights
    run = ["train", "--profile", "paper", "--data", course_layout, "--run-dir", tmp_path / "run"]
    result = hmrlib(*run, env=env)
    assert result.returncode == 2 and "HMRLIB_BODY_MODEL=/path/to/SMPL_NEUTRAL.pkl" in result.stderr, result.stderr
    result = hmrlib(*run, env={**env, "HMRLIB_BODY_MODEL": "standin"})
    assert result.returncode == 2, result.stderr
    assert "no ImageNet weights for" in result.stderr and "--pretrained none" in result.stderr
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in result.stderr


def test_a_non_finite_first_step_under_float16_is_skipped(tiny_root, tmp_path):
    """Rules out lowering the GradScaler's scale before any scale() made one (an AssertionError:
    'Attempted update but _scale is None') on the first step of a run or of a resumed run."""
    trainer = Trainer(tiny(tiny_root, amp="float16", max_nonfinite_steps=3), tmp_path, progress=False)
    poison(trainer, {0})
    trainer.run()
    log = pd.read_csv(tmp_path / "train_log.csv").set_index("step")
    assert log.loc[1, "skipped"] == 1.0 and log.drop(1).skipped.eq(0).all()
    assert trainer.scaler.get_scale() < 65536.0  # lowered by the skip


def test_cuda_without_an_index_is_this_process_gpu(monkeypatch):
    """Rules out passing torch.device('cuda') on to set_device, which needs an index."""
    from hmrlib.train.trainer import choose_device

    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: chosen.append(device))
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert choose_device("cuda") == torch.device("cuda", 1) and chosen == [torch.device("cuda", 1)]
    assert choose_device("cuda:0") == torch.device("cuda", 0)


def test_cuda_random_states_of_more_gpus_resume_on_fewer(monkeypatch):
    """Rules out torch.cuda.set_rng_state_all, which sets every saved GPU's state and fails where
    fewer GPUs are visible than the run was saved with."""
    from hmrlib.train.checkpoint import restore_rng, rng_state

    state = rng_state({})
    state["cuda"] = [torch.full((8,), 1, dtype=torch.uint8), torch.full((8,), 2, dtype=torch.uint8)]
    restored = {}

    def set_rng_state(new_state, device=0):
        if int(device) >= 1:
            raise RuntimeError(f"invalid device ordinal {device}")
        restored[int(device)] = new_state

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    monkeypatch.setattr(torch.cuda.random, "set_rng_state", set_rng_state)
    restore_rng(state, {})
    assert list(restored) == [0] and torch.equal(restored[0], state["cuda"][0])


def emulating_gpu(monkeypatch, capability):
    """A stand-in CUDA device of ``capability`` whose torch.cuda.is_bf16_supported() answers as
    torch >= 2.4 does: yes on sm_80 and later, and — counting emulation, its default — yes on
    older GPUs too."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: capability[0] >= 8 or including_emulation
    )


@pytest.mark.parametrize(
    "capability, expected",
    [((9, 0), torch.bfloat16), ((8, 0), torch.bfloat16), ((7, 5), torch.float16), ((7, 0), torch.float16)],
)
def test_auto_precision_is_bfloat16_only_where_the_gpu_computes_in_it(monkeypatch, capability, expected):
    """A T4 (sm_75) or V100 (sm_70) emulates bfloat16, slowly: auto takes float16 + GradScaler
    there (is_bf16_supported() said yes to both, so auto never chose float16)."""
    from hmrlib.train.trainer import autocast_dtype

    assert autocast_dtype("auto", torch.device("cpu")) is None
    emulating_gpu(monkeypatch, capability)
    assert autocast_dtype("auto", torch.device("cuda", 0)) == expected


def test_out_of_memory_names_the_sizes_and_the_setting_that_lowers_them(tiny_root, tmp_path):
    from hmrlib.train.trainer import OutOfMemory

    trainer = Trainer(tiny(tiny_root, "resnet50"), tmp_path, progress=False)

    def step(batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    trainer.step = step
    with pytest.raises(OutOfMemory, match=r"batch size 4 and image size 32.*--set optim.batch_size=2"):
        trainer.run()


def test_one_default_profile_for_every_command_and_the_notebooks(monkeypatch):
    """train, ablation, doctor and the notebooks choose alike: gpu where torch sees CUDA."""
    import hmrlib.train
    import hmrlib.train.ablation
    from hmrlib.__main__ import main
    from hmrlib.present.settings import notebook_settings

    monkeypatch.delenv("HMRLIB_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    chosen = []

    class Chosen(Exception):
        pass

    def record(name, *args, **kwargs):
        chosen.append(name)
        raise Chosen

    monkeypatch.setattr(hmrlib.train, "profile", record)
    monkeypatch.setattr(hmrlib.train.ablation, "run_ablation", record)
    monkeypatch.setattr("hmrlib.present.doctor.report", record)
    for command in ("train", "ablation", "doctor"):
        with pytest.raises(Chosen):
            main([command])
    assert chosen == ["gpu", "gpu", "gpu"] and notebook_settings().profile == "gpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert notebook_settings().profile == "cpu"


def test_doctor_says_why_a_present_gpu_is_not_used(monkeypatch):
    from hmrlib.present.doctor import unusable_gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert unusable_gpu(nvidia_devices=[]) is None
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "CPU build" in unusable_gpu(nvidia_devices=["/dev/nvidia0"])
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    assert "driver" in unusable_gpu(nvidia_devices=["/dev/nvidia0"])


def test_settings_the_device_cannot_honour_fall_back_with_one_warning(tiny_root, tmp_path, monkeypatch):
    """channels_last on the CPU, compile_backbone without a compiler, bfloat16 on a GPU without
    it: each a warning naming the setting, and training goes on; rules out a traceback."""
    import shutil

    from hmrlib.errors import HmrlibWarning
    from hmrlib.train.trainer import autocast_dtype

    monkeypatch.setattr(shutil, "which", lambda name: None)  # no C compiler on this machine
    config = tiny(tiny_root, "resnet50", channels_last=True, compile_backbone=True)
    with pytest.warns(HmrlibWarning) as warned:
        trainer = Trainer(replace(config, optim=replace(config.optim, iterations=2)), tmp_path, progress=False)
    messages = [str(w.message) for w in warned]
    assert any(m.startswith("channels_last") for m in messages) and any(
        m.startswith("compile_backbone") for m in messages
    )
    trainer.run()
    assert trainer.iteration == 2 and not trainer.channels_last
    emulating_gpu(monkeypatch, (7, 0))
    with pytest.warns(HmrlibWarning, match="amp=bfloat16: this GPU only emulates"):
        assert autocast_dtype("bfloat16", torch.device("cuda", 0)) == torch.float16


def test_a_checkpoint_of_a_compiled_backbone_loads_without_compilation(tiny_root, tmp_path):
    """nn.Module.compile in place: the state_dict keeps its names (torch.compile's wrapper would
    prefix them with _orig_mod.), so the weights load into a plain generator."""
    from hmrlib.train.trainer import compile_backbone

    generator = Generator(ModelConfig(variant="resnet50", pretrained="none"))
    names = list(generator.state_dict())
    assert compile_backbone(generator)
    assert list(generator.state_dict()) == names
    Generator(ModelConfig(variant="resnet50", pretrained="none")).load_state_dict(generator.state_dict())


def test_a_skipped_float16_step_stays_out_of_the_logged_means(tiny_root, tmp_path):
    """A skipped step's loss terms are NaN: they used to be added to the interval's sums (the
    logged loss became NaN), and the values a skipped step lacks (the discriminator's) were divided
    by every step of the interval. Each value's mean is now over the steps that kept it: the same
    as the per-step log's mean over those steps."""
    runs = {}
    for every in (1, 4):
        trainer = Trainer(tiny(tiny_root, amp="float16", log_every=every), tmp_path / f"every{every}", progress=False)
        poison(trainer, {1})
        trainer.run()
        runs[every] = pd.read_csv(tmp_path / f"every{every}" / "train_log.csv").set_index("step")
    per_step, first = runs[1].loc[[1, 3, 4]], runs[4].loc[4]  # step 2 was skipped
    assert runs[1].loc[2, "skipped"] == 1.0 and first["skipped"] == 0.25
    for key in ("loss", "vertex_l2", "attention", "disc_loss", "real_score"):
        assert np.isfinite(first[key]) and first[key] == pytest.approx(per_step[key].mean(), rel=1e-5), key


def test_compile_backbone_reaches_the_path_a_heatmap_generator_takes():
    """With model.joint_heatmaps the generator calls backbone.forward_with_maps, which
    nn.Module.compile (it compiles __call__) left uncompiled, silently."""
    from hmrlib.train.trainer import compile_backbone

    generator = Generator(ModelConfig(variant="resnet50", pretrained="none", joint_heatmaps=True))
    assert compile_backbone(generator)
    assert getattr(generator.backbone.forward_with_maps, "_torchdynamo_orig_callable", None) is not None


def test_cudnn_and_cublas_allocation_failures_get_the_out_of_memory_line():
    """They arrive as a plain RuntimeError naming their status, not torch's OutOfMemoryError."""
    from hmrlib.train.trainer import is_out_of_memory

    assert is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"))
    assert is_out_of_memory(RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"))
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_each_rank_renders_on_its_own_gpu(monkeypatch):
    from hmrlib.compat import configure_opengl

    for name in ("EGL_DEVICE_ID", "PYOPENGL_PLATFORM"):  # set, then removed: undone either way after the test
        monkeypatch.setenv(name, "")  # (a variable only deleted while absent is not undone, and would leak
        monkeypatch.delenv(name)  # EGL_DEVICE_ID=3 into every later render of the session)
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    configure_opengl()
    assert "EGL_DEVICE_ID" not in os.environ  # Mesa on a CPU: one device for every rank
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    configure_opengl()
    assert os.environ["EGL_DEVICE_ID"] == "3"
