"""The trainer: one readable loop that notebooks and the command line call.

Per iteration: augment (p from the schedule) → generator step on vertex L1 + L2 (+ attention, +
adversarial) → discriminator step on real poses from the training set against the predicted ones
→ adapt each discriminator's input noise. Everything needed to continue exactly — models,
optimisers, scaler, RNG states, iteration (hence p and the data position), noise — is in each
checkpoint; a crash loses at most one checkpoint interval. Runs under ``torchrun`` with
DistributedDataParallel (NCCL on GPUs, gloo on CPUs).
"""
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from hmrlib.augment import augment
from hmrlib.body import load_body_model
from hmrlib.data.dataset import H36MDataset
from hmrlib.evaluate import evaluate_generator, mean_parameters
from hmrlib.losses import discriminator_loss, generator_adversarial_losses, vertex_losses, weighted_total
from hmrlib.models import Generator, PoseDiscriminator
from hmrlib.models.heads import LinearHead, ResidualShapeHead, SuperGATPoseHead
from hmrlib.train import checkpoint
from hmrlib.train.config import TrainConfig
from hmrlib.train.logs import TrainLogger


class TrainingDiverged(RuntimeError):
    pass


class InfiniteBatches(torch.utils.data.Sampler):
    """Index batches, epoch after epoch; epoch e is a permutation seeded by (seed, e), split
    between ranks. Starting at ``start_step`` resumes the exact sequence."""

    def __init__(self, size: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.size, self.batch_size, self.seed, self.start_step, self.rank, self.world = size, batch_size, seed, start_step, rank, world
        self.steps_per_epoch = size // world // batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{size} training samples are fewer than one batch of {batch_size} per process")

    def __iter__(self):
        step = self.start_step
        while True:
            epoch, position = divmod(step, self.steps_per_epoch)
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
            shard = order[self.rank::self.world]
            yield shard[position * self.batch_size:(position + 1) * self.batch_size].tolist()
            step += 1


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


class Trainer:
    def __init__(self, config: TrainConfig, run_dir, device=None, progress: bool = True):
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        self.rank, self.world = _distributed()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = torch.device(device or (f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)  # NCCL collectives use the current device
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        random.seed(config.seed * 13 + self.rank)  # PyG's negative sampling uses Python's random
        np.random.seed(config.seed * 17 + self.rank)
        data = config.data
        self.body = load_body_model(data.body_model, device=self.device)
        if self.rank > 0:
            dist.barrier()  # rank 0 builds the crop caches first; the others then read them
        self.train_set = H36MDataset(data.root, subjects=data.train_subjects, image_size=data.image_size, cache_dir=data.cache_dir, progress=progress and self.rank == 0)
        self.val_set = H36MDataset(data.root, subjects=data.val_subjects, image_size=data.image_size, cache_dir=data.cache_dir, progress=progress and self.rank == 0)
        if self.world > 1 and self.rank == 0:
            dist.barrier()
        pick = np.random.default_rng(0).permutation(len(self.val_set))
        self.val_indices = np.sort(pick[:data.val_samples]) if data.val_samples else np.arange(len(self.val_set))
        self.generator = Generator(config.model, self.body).to(self.device)
        if config.init_from_mean_pose:
            self._start_at_mean_pose()
        self.discriminator = PoseDiscriminator().to(self.device) if config.model.uses_discriminator else None
        optim = config.optim
        self.opt_g = torch.optim.AdamW([p for p in self.generator.parameters() if p.requires_grad], lr=optim.lr, weight_decay=optim.weight_decay)
        self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), lr=optim.disc_lr, weight_decay=optim.disc_weight_decay) if self.discriminator else None
        self.use_amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.rngs = {"augment": torch.Generator(self.device).manual_seed(config.seed * 7 + self.rank),
                     "real_poses": torch.Generator().manual_seed(config.seed * 11 + self.rank)}
        self.iteration, self.best_val = 0, math.inf
        resumed = self._resume()
        self.logger = TrainLogger(self.run_dir, self.iteration if resumed else None, enabled=self.rank == 0)
        self.train_generator = DistributedDataParallel(self.generator) if self.world > 1 else self.generator
        self.train_discriminator = DistributedDataParallel(self.discriminator) if self.world > 1 and self.discriminator else self.discriminator

    # -- set-up ---------------------------------------------------------------------------
    def _start_at_mean_pose(self):
        """Readout biases at the training set's mean pose and shape: the network starts from the
        mean predictor and learns the difference."""
        pose, betas = mean_parameters(self.train_set)
        head, shape = self.generator.pose_head, self.generator.shape_head
        with torch.no_grad():
            if isinstance(head, SuperGATPoseHead) and head.rotation == "axis-angle":
                head.readout.bias.copy_(pose)
            elif isinstance(head, LinearHead):
                head.linear.bias.copy_(pose)
            last = shape.output[-1] if isinstance(shape, ResidualShapeHead) else shape.linear
            last.bias.copy_(betas)

    def _resume(self) -> bool:
        path = checkpoint.latest(self.run_dir / "checkpoints")
        if path is None:
            return False
        state = checkpoint.load(path, map_location="cpu")  # RNG states must stay on the CPU; weights are copied over
        saved = TrainConfig.from_dict(state["config"])
        if saved.model != self.config.model:
            raise checkpoint.CheckpointError(f"{path} holds a {saved.model.variant} model configured differently; use another run folder")
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.scaler.load_state_dict(state["scaler"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        checkpoint.restore_rng(state["rng"][self.rank] if self.rank < len(state["rng"]) else state["rng"][0], self.rngs)
        self.iteration, self.best_val = state["iteration"], state["best_val"]
        return True

    def _state(self) -> dict:
        rng = checkpoint.rng_state(self.rngs)
        if self.world > 1:  # every rank's RNG, so each continues its own stream
            gathered = [None] * self.world
            dist.all_gather_object(gathered, rng)
            rng = gathered
        else:
            rng = [rng]
        return {"generator": self.generator.state_dict(), "opt_g": self.opt_g.state_dict(), "scaler": self.scaler.state_dict(),
                "discriminator": self.discriminator.state_dict() if self.discriminator else None,
                "opt_d": self.opt_d.state_dict() if self.opt_d else None, "rng": rng, "iteration": self.iteration,
                "best_val": self.best_val, "config": self.config.to_dict()}

    def save(self):
        state = self._state()  # collective under DDP: every rank takes part
        if self.rank == 0:
            checkpoint.save_step(state, self.run_dir / "checkpoints", self.iteration, self.config.keep_checkpoints)

    # -- one iteration --------------------------------------------------------------------
    def step(self, batch: dict) -> dict:
        cfg = self.config
        batch = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        p = cfg.augment.probability(self.iteration)
        images, orient, body_pose, _ = augment(batch["image"], p, cfg.augment, batch["global_orient"], batch["body_pose"], generator=self.rngs["augment"])
        with torch.no_grad():
            target = self.body(global_orient=orient, body_pose=body_pose, betas=batch["betas"], transl=batch["transl"]).vertices
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.use_amp):
            out = self.train_generator(images)
        pose, betas = out.pose.float(), out.betas.float()
        predicted = self.body(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=betas, transl=batch["transl"]).vertices
        terms = vertex_losses(predicted, target)
        if out.attention_loss is not None:
            terms["attention"] = out.attention_loss.float()
        if self.discriminator is not None:
            self.discriminator.requires_grad_(False)  # the generator's step leaves D untouched
            terms.update(generator_adversarial_losses(self.discriminator(pose)))
            self.discriminator.requires_grad_(True)
        total = weighted_total(terms, cfg.loss)
        self._check_finite(total, terms)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        values = {"loss": total.item(), **{k: v.item() for k, v in terms.items()}, "p": p}
        if self.discriminator is not None:
            values.update(self._discriminator_step(pose.detach()))
        return values

    def _discriminator_step(self, fake_pose: torch.Tensor) -> dict:
        index = torch.randint(len(self.train_set), (fake_pose.shape[0],), generator=self.rngs["real_poses"]).numpy()
        real = torch.as_tensor(self.train_set.poses(index), device=self.device)
        logits = self.train_discriminator(torch.cat([real, fake_pose]))  # one forward: DDP-friendly
        real_logits, fake_logits = logits[:len(real)], logits[len(real):]
        loss = discriminator_loss(real_logits, fake_logits)
        self._check_finite(loss, {"discriminator": loss})
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        mean_real = real_logits.detach().sigmoid().mean(0)
        if self.world > 1:
            dist.all_reduce(mean_real)
            mean_real /= self.world
        self.discriminator.adapt_noise(mean_real)
        noise = self.discriminator.noise_std.tolist()
        return {"disc_loss": loss.item(), "real_score": mean_real.mean().item(), "noise_mean": float(np.mean(noise)),
                **{f"noise_{k}": v for k, v in enumerate(noise)}}

    def _check_finite(self, total: torch.Tensor, terms: dict):
        if not torch.isfinite(total):
            last = checkpoint.latest(self.run_dir / "checkpoints")
            values = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
            raise TrainingDiverged(f"step {self.iteration}: the loss is {total.item()} ({values}); training stopped before "
                                   f"updating the weights. Last good checkpoint: {last or 'none yet'}")

    # -- validation and the loop -----------------------------------------------------------
    def validate(self) -> dict:
        summary = evaluate_generator(self.generator, self.val_set, self.body, indices=self.val_indices)
        metrics = summary.iloc[0][["mse_m2", "pve_mm", "mpjpe_mm", "pa_mpjpe_mm"]].astype(float).to_dict()
        self.logger.log_val(self.iteration, metrics)
        if metrics["mse_m2"] < self.best_val:
            self.best_val = metrics["mse_m2"]
            # best.pt is for using the model (weights and configuration), not for resuming
            checkpoint.save_atomic({"generator": self.generator.state_dict(), "iteration": self.iteration, "best_val": self.best_val,
                                    "config": self.config.to_dict()}, self.run_dir / "checkpoints" / "best.pt")
        return metrics

    def run(self) -> dict:
        from tqdm import tqdm

        cfg = self.config
        sampler = InfiniteBatches(len(self.train_set), cfg.optim.batch_size, cfg.seed, self.iteration, self.rank, self.world)
        # its own generator: starting a loader draws a seed, which must not come from the global
        # RNG (restored on resume) or a resumed run would drift from an uninterrupted one
        loader = torch.utils.data.DataLoader(self.train_set, batch_sampler=sampler, num_workers=cfg.data.workers,
                                             pin_memory=self.device.type == "cuda", persistent_workers=cfg.data.workers > 0,
                                             generator=torch.Generator().manual_seed(cfg.seed))
        self.generator.train()
        running, started, metrics = {}, time.perf_counter(), {}
        bar = tqdm(total=cfg.optim.iterations, initial=self.iteration, desc=f"{cfg.model.variant}", disable=not self.progress or self.rank != 0, unit="it")
        batches = iter(loader)
        while self.iteration < cfg.optim.iterations:
            values = self.step(next(batches))
            self.iteration += 1
            for key, value in values.items():
                running.setdefault(key, []).append(value)
            bar.update(1)
            if self.iteration % cfg.log_every == 0 or self.iteration == cfg.optim.iterations:
                means = {k: float(np.mean(v)) for k, v in running.items()}
                means["seconds"] = time.perf_counter() - started
                self.logger.log_train(self.iteration, means)
                bar.set_postfix({k: f"{means[k]:.4g}" for k in ("loss", "vertex_l2", "disc_loss") if k in means})
                running = {}
            if self.iteration % cfg.val_every == 0 or self.iteration == cfg.optim.iterations:
                if self.rank == 0:
                    metrics = self.validate()
                if self.world > 1:
                    dist.barrier()
            if self.iteration % cfg.checkpoint_every == 0 or self.iteration == cfg.optim.iterations:
                self.save()
        bar.close()
        self.logger.close()
        return metrics
