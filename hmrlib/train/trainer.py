"""The trainer: one readable loop that notebooks and the command line call.

Per iteration: augment (p from the schedule) → generator step on vertex L1 + L2 (+ attention, +
adversarial) → discriminator step on real poses from the training set against the predicted ones
→ adapt each discriminator's input noise. Everything needed to continue exactly — models,
optimisers, scaler, RNG states, iteration (hence p and the data position), noise — is in each
checkpoint; a crash loses at most one checkpoint interval. Runs under ``torchrun`` with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs).
"""

import importlib.util
import math
import os
import random
import shutil
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from hmrlib.body import load_body_model
from hmrlib.constants import VARIANTS
from hmrlib.data.dataset import H36MDataset, require_subjects
from hmrlib.errors import ConfigError, HmrlibError, HmrlibWarning
from hmrlib.evaluation.evaluate import evaluate_generator, mean_parameters
from hmrlib.geometry import matrix_to_rotvec, project_to_crop, rotvec_to_matrix
from hmrlib.models import Generator, PoseDiscriminator
from hmrlib.models.weights import resolve_imagenet_weights
from hmrlib.progress import progress_bar
from hmrlib.seeding import derive_seed
from hmrlib.skeleton import mirror_joints
from hmrlib.train import checkpoint
from hmrlib.train.augment import augment
from hmrlib.train.config import TrainConfig
from hmrlib.train.logs import TrainLogger
from hmrlib.train.losses import (
    discriminator_loss,
    generator_adversarial_losses,
    heatmap_loss,
    joint_loss,
    reprojection_loss,
    rotation_loss,
    vertex_losses,
    weighted_total,
)


class TrainingDiverged(HmrlibError, RuntimeError):
    """The loss became NaN or inf; the message names the last good checkpoint."""


class OutOfMemory(HmrlibError, RuntimeError):
    """A training step did not fit in the device's memory; the message says what to lower."""


class InfiniteBatches(torch.utils.data.Sampler):
    """Index batches, epoch after epoch; epoch e is a permutation seeded by (seed, e), split
    between ranks. Starting at ``start_step`` resumes the exact sequence."""

    def __init__(self, size: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.size, self.batch_size, self.seed, self.start_step, self.rank, self.world = (
            size,
            batch_size,
            seed,
            start_step,
            rank,
            world,
        )
        self.steps_per_epoch = size // world // batch_size
        if self.steps_per_epoch == 0:
            raise ConfigError(f"{size} training samples are fewer than one batch of {batch_size} per process")

    def __iter__(self):
        step = self.start_step
        while True:
            epoch, position = divmod(step, self.steps_per_epoch)
            epoch_seed = derive_seed(self.seed, "batches", f"epoch{epoch}")
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(epoch_seed))
            shard = order[self.rank :: self.world]
            yield shard[position * self.batch_size : (position + 1) * self.batch_size].tolist()
            step += 1


def validation_subset(size: int, samples: int) -> np.ndarray:
    """Sorted indices of a fixed random subset of ``samples`` validation frames (all when 0)."""
    if not samples:
        return np.arange(size)
    return np.sort(np.random.default_rng(0).permutation(size)[:samples])


def process_group_backend(device: torch.device) -> str:
    """NCCL for CUDA tensors, gloo for CPU ones: the run's device decides, not the host's GPUs."""
    return "nccl" if device.type == "cuda" else "gloo"


def choose_device(device=None) -> torch.device:
    """The device asked for, else this process's GPU (LOCAL_RANK under torchrun), else the CPU."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        if device.index is None:  # "cuda": this process's GPU
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # NCCL collectives use the current device
    return device


def start_distributed(device: torch.device, timeout_s: int) -> tuple[int, int]:
    """(rank, world size); joins the process group under torchrun. The timeout covers the wait
    while rank 0 validates every file and builds the crop caches (NCCL's default is 10 minutes)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        # device_id binds NCCL's communicator to this rank's GPU at once (no guess, no later barrier hang)
        device_id = device if device.type == "cuda" else None
        dist.init_process_group(
            process_group_backend(device), timeout=timedelta(seconds=timeout_s), device_id=device_id
        )
    return (dist.get_rank(), world) if world > 1 else (0, 1)


ALLOCATION_FAILURES = ("CUDNN_STATUS_ALLOC_FAILED", "CUBLAS_STATUS_ALLOC_FAILED", "CUDA error: out of memory")


def is_out_of_memory(error: BaseException) -> bool:
    """torch's OutOfMemoryError, or cuDNN's and cuBLAS's own allocation failures, which reach
    Python as a plain RuntimeError naming their status."""
    return isinstance(error, torch.OutOfMemoryError) or any(name in str(error) for name in ALLOCATION_FAILURES)


def use_deterministic_algorithms(device: torch.device) -> None:
    """Same seed, same numbers, on one machine. Without this, the CPU backward of SuperGAT's
    message passing (index_select / scatter gradients summed by several threads) differs in the
    last bits from run to run, and training amplifies that to percent-level differences within
    ten steps. Process-wide, like torch.manual_seed. warn_only: an op with no deterministic
    kernel on some device warns rather than stopping a run."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's deterministic mode
    torch.use_deterministic_algorithms(True, warn_only=True)


def lr_factor(iteration: int, optim) -> float:
    """The learning rate's factor at this iteration (0-based): a linear warm-up over
    ``warmup_iterations``, then constant or a cosine decay to 0 at ``iterations``."""
    if iteration < optim.warmup_iterations:
        return (iteration + 1) / optim.warmup_iterations
    if optim.schedule == "cosine":
        progress = (iteration - optim.warmup_iterations) / max(1, optim.iterations - optim.warmup_iterations)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


def adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """The trainer's optimiser. Fused: one kernel over all tensors instead of a Python loop of
    about ten ops per tensor; on the CPU a ResNeXt-50 update takes 16 ms instead of 107 ms (one
    thread), a quarter of the 48² cpu step's cost outside the backbone's passes."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)


def set_learning_rate(optimiser: torch.optim.Optimizer, lr: float) -> None:
    """Set every step from the iteration, instead of a torch LR scheduler's own counter: nothing
    more to checkpoint, and a resumed run has the right rate by construction. A parameter group's
    ``lr_scale`` (the heads' OptimConfig.head_lr_scale) multiplies it."""
    for group in optimiser.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def accumulate(sums: dict, counts: dict, values: dict) -> None:
    """Add one step's values (0-d tensors on the device, or floats) to ``sums`` where they are.
    A skipped step (float16) adds only 'p' and 'skipped': its other values are NaN or inf, and
    would spoil the interval's means; ``counts`` holds how many steps each sum has."""
    kept = 1.0 - values.get("skipped", 0.0)  # a float, or a 0-d tensor on the device
    for key, value in values.items():
        if key in ("p", "skipped"):
            sums[key], counts[key] = sums.get(key, 0.0) + value, counts.get(key, 0) + 1
        else:
            value = torch.where(kept > 0, value, 0.0) if torch.is_tensor(kept) else value
            sums[key], counts[key] = sums.get(key, 0.0) + value, counts.get(key, 0) + kept


def logged_means(sums: dict, counts: dict) -> dict:
    """Each sum over its count (:func:`accumulate`), the tensors among them read back in one
    transfer; a value that no step of the interval kept is NaN."""
    parts = {"sum": sums, "count": counts}
    on_device = [(key, part) for key in sums for part in parts if torch.is_tensor(parts[part][key])]
    stacked = torch.stack([parts[part][key].float() for key, part in on_device]) if on_device else None
    read = dict(zip(on_device, stacked.tolist() if stacked is not None else []))  # the host read
    means = {}
    for key in sums:
        total, count = (float(read.get((key, part), parts[part][key])) for part in parts)
        means[key] = total / count if count else float("nan")
    return means


def end_distributed() -> None:
    """Leaves the process group, if one was joined. Call it once nothing holds the trainer (its DDP
    wrapper keeps the group alive): gloo's threads must stop while Python still runs, or the process
    may abort at exit with 'terminate called without an active exception'."""
    if dist.is_initialized():
        dist.destroy_process_group()


def native_bfloat16(device: torch.device) -> bool:
    """Whether the GPU computes in bfloat16 itself (compute capability 8.0 on, or ROCm). Not
    ``torch.cuda.is_bf16_supported()``: since torch 2.4 it also says yes where bfloat16 is only
    emulated (a T4, a V100), which is slower than float16 there."""
    if torch.version.hip:
        return True
    return torch.cuda.get_device_capability(device)[0] >= 8


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The backbone's autocast dtype for TrainConfig.amp, or None for full precision. ``auto``:
    bfloat16 on a GPU that computes in it, else float16 (with a GradScaler); off on the CPU."""
    choices = {"off": None, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if amp == "auto":  # bfloat16 where the GPU has it: float32's range, so no gradient scaling
        if device.type != "cuda":
            return None
        return torch.bfloat16 if native_bfloat16(device) else torch.float16
    if amp not in choices:
        raise ConfigError(f"amp must be 'auto', 'off', 'float16' or 'bfloat16', got {amp!r}")
    if amp == "bfloat16" and device.type == "cuda" and not native_bfloat16(device):
        warnings.warn(
            "amp=bfloat16: this GPU only emulates bfloat16; float16 with gradient scaling instead",
            HmrlibWarning,
            stacklevel=2,
        )
        return torch.float16
    return choices[amp]


def use_channels_last(asked: bool, device: torch.device, generator) -> bool:
    """channels_last: the backbone's weights (and each step's images) in NHWC, where the GPU's
    convolutions are faster; on the CPU it falls back, with a warning."""
    if not asked:
        return False
    if device.type != "cuda":
        warnings.warn(
            "channels_last is for a GPU; the CPU keeps the default memory format", HmrlibWarning, stacklevel=2
        )
        return False
    generator.backbone.to(memory_format=torch.channels_last)
    return True


def compile_backbone(generator) -> bool:
    """torch.compile the backbone in place (nn.Module.compile: its state_dict keeps its names, so
    checkpoints load without compilation) — and its forward_with_maps, the path a generator with
    joint heatmaps takes instead of forward; falls back, with a warning, where the compiler chain
    is missing (it would otherwise fail at the first forward)."""
    device = next(generator.parameters()).device
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("g++")
    missing = None
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        missing = "triton (torch.compile's GPU compiler) is not installed"
    elif not compiler:  # Inductor's CPU code and Triton's launchers are built with it
        missing = "no C compiler (cc, gcc) for torch.compile"
    if missing:
        warnings.warn(f"compile_backbone: {missing}; training without compilation", HmrlibWarning, stacklevel=2)
        return False
    generator.backbone.compile()
    generator.backbone.forward_with_maps = torch.compile(generator.backbone.forward_with_maps)
    return True


def load_scaler_state(scaler: torch.amp.GradScaler, state: dict):
    """A GradScaler state saved on any device: a disabled scaler saves {} (a CPU run), which an
    enabled one (CUDA) must not be given; an enabled scaler's state means nothing to a disabled one."""
    if state and scaler.is_enabled():
        scaler.load_state_dict(state)


class Trainer:
    def __init__(self, config: TrainConfig, run_dir, device=None, progress: bool = True, datasets=None):
        """datasets: (train, validation) H36MDatasets to use instead of the configuration's
        subjects (``doctor`` times steps on a small part of the data this way)."""
        config.check()
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        self.device = choose_device(device)
        self.rank, self.world = start_distributed(self.device, config.ddp_timeout_s)
        if config.deterministic:
            use_deterministic_algorithms(self.device)
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # the fastest kernels for the (fixed) input sizes
        self._seed_global_rngs()
        self.body = self._load_body_model()
        if config.model.pretrained in ("required", "download"):  # before any data is read or cached
            architecture = VARIANTS[config.model.variant]["backbone"]
            resolve_imagenet_weights(architecture, config.model.pretrained, config.model.weights_path)
        self.train_set, self.val_set = datasets or self._open_datasets()
        self.val_indices = validation_subset(len(self.val_set), config.data.val_samples)
        self.generator, self.discriminator = self._build_models()
        # the discriminator's real poses, on the device once: drawn there each step, never copied
        self.real_poses = torch.as_tensor(self.train_set.poses(), device=self.device) if self.discriminator else None
        self.channels_last = use_channels_last(config.channels_last, self.device, self.generator)
        if config.compile_backbone:
            compile_backbone(self.generator)
        self.opt_g, self.opt_d = self._build_optimisers()
        self.amp_dtype = autocast_dtype(config.amp, self.device)
        # gradient scaling is for float16 only (bfloat16 has float32's range)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        # the discriminator's (float32): kept at scale 1, there only to skip its update with the generator's
        self.disc_scaler = torch.amp.GradScaler(self.device.type, init_scale=1.0, enabled=self.scaler.is_enabled())
        self.rngs = self._training_rngs()
        self.iteration, self.best_val = 0, math.inf
        # divergence, tracked on the device and read at each log and checkpoint (check_finite)
        self.nonfinite_since_check = torch.zeros((), dtype=torch.bool, device=self.device)
        self.nonfinite_in_a_row = torch.zeros((), dtype=torch.int64, device=self.device)  # float16's skips
        self.too_many_at = torch.full((), -1, dtype=torch.int64, device=self.device)  # the step a run got too long
        self.seconds_before = 0.0  # training time of earlier sessions of this run (resume)
        self.session_started = time.perf_counter()
        resumed = self._resume()
        self.last_check = self.iteration
        self.logger = TrainLogger(self.run_dir, self.iteration if resumed else None, enabled=self.rank == 0)
        self.train_generator, self.train_discriminator = self._wrap_for_ddp()

    # -- set-up, in the order __init__ calls it ----------------------------------------------
    def _seed_global_rngs(self):
        seed, rank = self.config.seed, f"rank{self.rank}"
        torch.manual_seed(derive_seed(seed, "global"))  # the weights are seeded again in _build_models
        random.seed(derive_seed(seed, "python", rank))  # for any library that draws from Python's random
        np.random.seed(derive_seed(seed, "numpy", rank))

    def _load_body_model(self):
        data = self.config.data
        chosen = data.body_model or os.environ.get("HMRLIB_BODY_MODEL")
        if data.require_smpl and not chosen:
            raise ConfigError(
                f"this profile trains on the course data in {data.root} with SMPL, as the paper does, "
                "but no body model was given: set HMRLIB_BODY_MODEL=/path/to/SMPL_NEUTRAL.pkl (or the course's "
                "model.npz), or HMRLIB_BODY_MODEL=standin to train on hmrlib's stand-in knowingly "
                "(its numbers are not the paper's)"
            )
        return load_body_model(data.body_model, device=self.device)

    def _open_datasets(self) -> tuple[H36MDataset, H36MDataset]:
        data, show = self.config.data, self.progress and self.rank == 0
        require_subjects(data.root, data.val_subjects, "validation")
        if self.rank > 0:
            dist.barrier()  # rank 0 builds the crop caches first; the others then read them
        train_set, val_set = (
            H36MDataset(
                data.root,
                subjects=subjects,
                image_size=data.image_size,
                box_rounding=data.box_rounding,
                cache_dir=data.cache_dir,
                progress=show,
                with_camera=with_camera,
            )
            for subjects, with_camera in ((data.train_subjects, self.config.loss.uses_2d), (data.val_subjects, False))
        )
        if self.world > 1 and self.rank == 0:
            dist.barrier()
        return train_set, val_set

    def _build_models(self) -> tuple[Generator, PoseDiscriminator | None]:
        # seeded here, not earlier: opening the datasets may draw from the global RNG (e.g. a
        # DataLoader building a crop cache), and the weights must not depend on whether it did
        torch.manual_seed(derive_seed(self.config.seed, "weights"))  # identical on every rank
        generator = Generator(self.config.model)
        model = self.config.model
        if model.mean_start:  # start from the mean predictor and learn the difference
            generator.set_mean_parameters(*mean_parameters(self.train_set))
        discriminator = None
        if model.uses_discriminator:
            discriminator = PoseDiscriminator(noise_levels=model.disc_noise).to(self.device)
        if self.rank > 0:  # dropout masks, attention negatives, input noise: each rank draws its own
            torch.manual_seed(derive_seed(self.config.seed, "global", f"rank{self.rank}"))  # rank 0: as one process
        return generator.to(self.device), discriminator

    def _build_optimisers(self):
        optim = self.config.optim
        # at the backbone's rate: the backbone, and classifiers (a softmax's cross-entropy saturates
        # by itself; at the heads' 1/50 the heading bins' classifier stayed at chance for 250 steps)
        full_rate = ("backbone.", "heading.logits.")
        at_full_rate = [
            p for name, p in self.generator.named_parameters() if p.requires_grad and name.startswith(full_rate)
        ]
        heads = [
            p for name, p in self.generator.named_parameters() if p.requires_grad and not name.startswith(full_rate)
        ]
        groups = [{"params": at_full_rate, "lr_scale": 1.0}, {"params": heads, "lr_scale": optim.head_lr_scale}]
        opt_g = adamw([g for g in groups if g["params"]], lr=optim.lr, weight_decay=optim.weight_decay)
        opt_d = None
        if self.discriminator is not None:
            opt_d = adamw(self.discriminator.parameters(), lr=optim.disc_lr, weight_decay=optim.disc_weight_decay)
        return opt_g, opt_d

    def _training_rngs(self) -> dict:
        """The training loop's own random streams (saved in checkpoints for an exact resume). They
        live on the training device, so that a step draws where it computes (a draw on the host
        would be copied to the GPU, and wait); a checkpoint resumed on another kind of device
        starts them anew (checkpoint.restore_rng says so)."""
        seed, rank = self.config.seed, f"rank{self.rank}"
        return {
            name: torch.Generator(self.device).manual_seed(derive_seed(seed, name, rank))
            for name in ("augment", "real_poses")
        }

    def _wrap_for_ddp(self):
        if self.world == 1:
            return self.generator, self.discriminator
        discriminator = DistributedDataParallel(self.discriminator) if self.discriminator is not None else None
        return DistributedDataParallel(self.generator), discriminator

    def _resume(self) -> bool:
        path = checkpoint.latest(self.run_dir / "checkpoints")
        if path is None:
            return False
        state = checkpoint.load(path, map_location="cpu")  # RNG states must stay on the CPU; weights are copied over
        saved = TrainConfig.from_dict(state["config"], source=path)
        if saved.model != self.config.model:
            raise checkpoint.CheckpointError(
                f"{path} holds a {saved.model.variant} model configured differently; use another run folder"
            )
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        load_scaler_state(self.scaler, state["scaler"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        checkpoint.restore_rng(state["rng"][self.rank] if self.rank < len(state["rng"]) else state["rng"][0], self.rngs)
        self.iteration, self.best_val = state["iteration"], state["best_val"]
        self.seconds_before = state.get("train_seconds", 0.0)  # absent from checkpoints before it was kept
        return True

    def _state(self) -> dict:
        rng = checkpoint.rng_state(self.rngs)
        if self.world > 1:  # every rank's RNG, so each continues its own stream
            gathered = [None] * self.world
            dist.all_gather_object(gathered, rng)
            rng = gathered
        else:
            rng = [rng]
        return {
            "generator": self.generator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "scaler": self.scaler.state_dict(),
            "discriminator": self.discriminator.state_dict() if self.discriminator else None,
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "rng": rng,
            "iteration": self.iteration,
            "best_val": self.best_val,
            "train_seconds": self.train_seconds(),
            "config": self.config.to_dict(),
        }

    def train_seconds(self) -> float:
        """Wall-clock training time of this run, over every session since it started."""
        return self.seconds_before + time.perf_counter() - self.session_started

    def save(self):
        state = self._state()  # collective under DDP: every rank takes part
        if self.rank == 0:
            checkpoint.save_step(state, self.run_dir / "checkpoints", self.iteration, self.config.keep_checkpoints)

    # -- one iteration --------------------------------------------------------------------
    def step(self, batch: dict) -> dict:
        """One generator (and discriminator) update; returns the loss terms and statistics as
        0-d tensors on the device (read back once per log by the loop), ``p`` and ``skipped`` as floats."""
        cfg = self.config
        batch = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        p = cfg.augment.probability(self.iteration)
        images, orient, body_pose, augmented = augment(
            batch["image"], p, cfg.augment, batch["global_orient"], batch["body_pose"], generator=self.rngs["augment"]
        )
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        target_pose = torch.cat([orient, body_pose], dim=1)
        with torch.no_grad():
            target = self.body.mesh(target_pose, batch["betas"], batch["transl"])
        # a skipped step (float16: GradScaler's way with an overflow) must leave no trace: BatchNorm
        # updates its running statistics in the forward. Other runs never skip: no copy per step
        buffers = [b.clone() for b in self.generator.buffers()] if self.scaler.is_enabled() else None
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            out = self.train_generator(images)  # the backbone in amp_dtype, the heads in float32
        pose = out.pose.float()
        if out.heading_logits is not None:  # the losses see the bin of the label's heading
            true_bin = self.generator.heading.bin_of(rotvec_to_matrix(orient))
            rows = torch.arange(len(true_bin), device=true_bin.device)
            pose = torch.cat([matrix_to_rotvec(out.heading_orientations[rows, true_bin]), pose[:, 3:]], 1)
        predicted = self.body.mesh(pose, out.betas.float(), batch["transl"])
        terms = vertex_losses(predicted.vertices, target.vertices)
        if cfg.loss.rotations:
            terms["rotations"] = rotation_loss(pose, target_pose)
        if cfg.loss.joints:
            terms["joints"] = joint_loss(predicted.joints, target.joints)
        if cfg.loss.reprojection:
            camera, box = batch["camera"], batch["crop_box"]
            terms["reprojection"] = reprojection_loss(
                project_to_crop(predicted.joints, camera, box), project_to_crop(target.joints, camera, box)
            )
        if cfg.loss.heatmaps:
            terms["heatmaps"] = heatmap_loss(out.heatmaps, self._joints_in_image(batch, augmented, target.joints))
        if out.heading_logits is not None:
            terms["heading"] = F.cross_entropy(out.heading_logits, true_bin)
        if out.attention_loss is not None:
            terms["attention"] = out.attention_loss.float()
        if self.discriminator is not None:
            self.discriminator.requires_grad_(False)  # the generator's step leaves D untouched
            terms.update(generator_adversarial_losses(self.discriminator(pose)))
            self.discriminator.requires_grad_(True)
        total = weighted_total(terms, cfg.loss)
        values = {"loss": total.detach(), **{k: v.detach() for k, v in terms.items()}}  # on the device
        finite = self._agreed_finite(total.detach())
        if not self.scaler.is_enabled():  # counted here, read at the next log or checkpoint
            self.nonfinite_since_check |= ~finite
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if cfg.optim.clip_grad_norm:
            self.scaler.unscale_(self.opt_g)
            torch.nn.utils.clip_grad_norm_(self.generator.parameters(), cfg.optim.clip_grad_norm)
        set_learning_rate(self.opt_g, cfg.optim.lr * lr_factor(self.iteration, cfg.optim))
        # float16: a non-finite loss has non-finite gradients; GradScaler finds them and the fused
        # optimiser leaves the weights as they were, on the device: nothing is read to decide
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.scaler.is_enabled():
            self._leave_no_trace(finite, buffers)
        values.update(p=p, skipped=(~finite).float() if self.scaler.is_enabled() else 0.0)
        if out.attention_loss is not None:
            values["attention_logit_max"] = self.generator.pose_head.attention_logit_max()
        if self.discriminator is not None:
            values.update(self._discriminator_step(pose.detach(), finite))
        return values

    def _agreed_finite(self, total: torch.Tensor) -> torch.Tensor:
        """() bool on the device: the loss is finite — on every rank, under DDP (all skip together)."""
        finite = torch.isfinite(total)
        if self.world > 1 and self.scaler.is_enabled():
            agreed = finite.to(torch.int32)
            dist.all_reduce(agreed, op=dist.ReduceOp.MIN)
            finite = agreed.bool()
        return finite

    @torch.no_grad()
    def _leave_no_trace(self, finite: torch.Tensor, buffers: list):
        """After a float16 step: where it was skipped, BatchNorm's running statistics go back to
        before its forward; runs of non-finite steps are counted, and the step where one reaches
        max_nonfinite_steps is kept for the next check (:meth:`check_finite`) — all on the device."""
        for buffer, before in zip(self.generator.buffers(), buffers):
            buffer.copy_(torch.where(finite, buffer, before))
        self.nonfinite_in_a_row = torch.where(finite, 0, self.nonfinite_in_a_row + 1)
        too_many = (self.nonfinite_in_a_row >= self.config.max_nonfinite_steps) & (self.too_many_at < 0)
        self.too_many_at = torch.where(too_many, self.iteration, self.too_many_at)

    def _joints_in_image(self, batch: dict, augmented: dict, target_joints: torch.Tensor) -> torch.Tensor:
        """(B, 24, 2) the labels' joints where the augmented image shows them, in the crop's
        normalised coordinates: the unaugmented labels' joints projected, then moved by the
        augmentation's 2D transform; a flipped sample's joints trade sides as its label-aware pose
        did. (The augmented pose's own projection differs: its rotation turns about the pelvis,
        the image's about the crop's centre.)"""
        matrix = augmented["matrix"]
        label_aware = self.config.augment.label_aware
        if matrix is not None and label_aware:  # the labels were turned with the image: take the originals
            pose = torch.cat([batch["global_orient"], batch["body_pose"]], 1)  # which samples turned is not read
            with torch.no_grad():
                target_joints = self.body.mesh(pose, batch["betas"], batch["transl"]).joints
        points = project_to_crop(target_joints, batch["camera"], batch["crop_box"])
        if matrix is None:  # no augmentation this step
            return points
        points = points @ matrix[:, :2, :2].transpose(1, 2) + matrix[:, None, :2, 2]
        if label_aware:
            points = torch.where(augmented["applied"]["flip"][:, None, None], mirror_joints(points), points)
        return points

    def _discriminator_step(self, fake_pose: torch.Tensor, finite: torch.Tensor) -> dict:
        """One discriminator update on real poses against ``fake_pose``. Where the generator's
        step was skipped (``finite`` false, float16 only) the fakes are NaN, so that the
        discriminator's own GradScaler skips its update too, and its noise stays: no trace, no read."""
        fake_pose = torch.where(finite, fake_pose, torch.nan)
        generator = self.rngs["real_poses"]
        index = torch.randint(len(self.real_poses), (fake_pose.shape[0],), generator=generator, device=self.device)
        real = self.real_poses[index]
        logits = self.train_discriminator(torch.cat([real, fake_pose]))  # one forward: DDP-friendly
        real_logits, fake_logits = logits[: len(real)], logits[len(real) :]
        loss = discriminator_loss(real_logits, fake_logits)
        self.nonfinite_since_check |= ~torch.isfinite(loss.detach()) & finite
        self.opt_d.zero_grad(set_to_none=True)
        self.disc_scaler.scale(loss).backward()
        self.disc_scaler.step(self.opt_d)
        self.disc_scaler.update(1.0)
        mean_real = real_logits.detach().sigmoid().mean(0)
        if self.world > 1:
            dist.all_reduce(mean_real)
            mean_real /= self.world
        self.discriminator.adapt_noise(mean_real, finite)
        noise = self.discriminator.noise_std.detach().clone()
        return {
            "disc_loss": loss.detach(),
            "real_score": mean_real.mean(),
            "noise_mean": noise.mean(),
            **{f"noise_{k}": v for k, v in enumerate(noise)},
        }

    def check_finite(self):
        """Stop, naming the last good checkpoint, if a loss became NaN or inf since the last check
        (runs that never skip a step) or float16 skipped max_nonfinite_steps steps in a row: both
        are tracked on the device and read here, once per log and before each checkpoint."""
        flags = torch.stack([self.nonfinite_since_check.to(torch.int64), self.too_many_at])
        if self.world > 1:  # every rank stops together, or the others wait for it forever
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        diverged, too_many_at = flags.tolist()  # the host read
        last = checkpoint.latest(self.run_dir / "checkpoints")
        if too_many_at >= 0:
            raise TrainingDiverged(
                f"step {too_many_at}: the loss was NaN or inf ({self.config.max_nonfinite_steps} non-finite steps "
                f"in a row under AMP); training stopped before saving those weights. Last good checkpoint: "
                f"{last or 'none yet'}"
            )
        if diverged:
            steps = (
                f"step {self.iteration}"
                if self.iteration == self.last_check + 1
                else (f"steps {self.last_check + 1}-{self.iteration}")
            )
            raise TrainingDiverged(
                f"{steps}: a loss became NaN or inf; training stopped before saving those weights. "
                f"Last good checkpoint: {last or 'none yet'}"
            )
        self.last_check = self.iteration

    def _step_within_memory(self, batch: dict) -> dict:
        try:
            return self.step(batch)
        except (torch.OutOfMemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
            data, optim = self.config.data, self.config.optim
            raise OutOfMemory(
                f"the {self.device} ran out of memory at batch size {optim.batch_size} and image size "
                f"{data.image_size}; lower them, e.g. --set optim.batch_size={max(1, optim.batch_size // 2)} "
                f"or --set data.image_size={max(32, data.image_size // 2 // 16 * 16)}"
            ) from None

    # -- validation and the loop -----------------------------------------------------------
    def validate(self) -> dict:
        summary = evaluate_generator(self.generator, self.val_set, self.body, indices=self.val_indices)
        metrics = summary.iloc[0][["mse_m2", "pve_mm", "mpjpe_mm", "pa_mpjpe_mm"]].astype(float).to_dict()
        self.logger.log_val(self.iteration, metrics)
        if metrics["mse_m2"] < self.best_val:
            self.best_val = metrics["mse_m2"]
            # best.pt is for using the model (weights, configuration, and the discriminators that
            # fitting uses as its pose prior), not for resuming
            checkpoint.save_atomic(
                {
                    "generator": self.generator.state_dict(),
                    "discriminator": self.discriminator.state_dict() if self.discriminator is not None else None,
                    "iteration": self.iteration,
                    "best_val": self.best_val,
                    "config": self.config.to_dict(),
                },
                self.run_dir / "checkpoints" / "best.pt",
            )
        return metrics

    def run(self) -> dict:
        cfg = self.config
        sampler = InfiniteBatches(
            len(self.train_set), cfg.optim.batch_size, cfg.seed, self.iteration, self.rank, self.world
        )
        # its own generator: starting a loader draws a seed, which must not come from the global
        # RNG (restored on resume) or a resumed run would drift from an uninterrupted one
        loader = torch.utils.data.DataLoader(
            self.train_set,
            batch_sampler=sampler,
            num_workers=cfg.data.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=cfg.data.workers > 0,
            generator=torch.Generator().manual_seed(derive_seed(cfg.seed, "loader")),
        )
        self.generator.train()
        running, counts, metrics = {}, {}, {}
        self.session_started = time.perf_counter()
        bar = progress_bar(
            cfg.optim.iterations,
            initial=self.iteration,
            desc=f"{cfg.model.variant}",
            disable=not self.progress or self.rank != 0,
            unit="it",
        )
        batches = iter(loader)
        while self.iteration < cfg.optim.iterations:
            values = self._step_within_memory(next(batches))
            self.iteration += 1
            accumulate(running, counts, values)
            bar.update(1)
            last = self.iteration == cfg.optim.iterations
            if self.iteration % cfg.log_every == 0 or last:
                self.check_finite()
                means = logged_means(running, counts)  # the one host read of this interval
                means["seconds"] = self.train_seconds()
                self.logger.log_train(self.iteration, means)
                postfix = {k: f"{means[k]:.4g}" for k in ("loss", "vertex_l2", "disc_loss") if k in means}
                bar.set_postfix(postfix, refresh=False)  # shown at the bar's next line, not as one more
                running, counts = {}, {}
            if self.iteration % cfg.val_every == 0 or self.iteration == cfg.optim.iterations:
                if self.rank == 0:
                    metrics = self.validate()
                if self.world > 1:
                    dist.barrier()
            if self.iteration % cfg.checkpoint_every == 0 or last:
                self.check_finite()  # a checkpoint holds no weights a non-finite step touched
                self.save()
        bar.close()
        self.logger.close()
        return metrics
