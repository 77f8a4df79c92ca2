"""A training step reads nothing back from the device: on a GPU each such read (``.item()``,
``.tolist()``, ``float(t)``, ``if t:``, ``list[t]``) waits for every queued kernel, and a dozen
a step left an H200 idle most of the time. Counted here on the CPU by patching those methods."""

import inspect
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hmrlib.train import Trainer, profile

READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")
# the augmentation's parameters are drawn on the CPU by design (a CPU generator), and read there
CPU_SIDE = {"augment.py"}


def count_host_reads(monkeypatch) -> list[str]:
    """Patch the reading methods of torch.Tensor; returns the list that collects 'file:line'."""
    where = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            caller = inspect.stack(context=0)[1]
            if Path(caller.filename).name not in CPU_SIDE:
                where.append(f"{Path(caller.filename).name}:{caller.lineno}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    return where


@pytest.mark.parametrize("name", ["cpu", "gpu"])  # gpu: the recipe on the CPU here, without autocast
def test_training_steps_read_nothing_back(name, tiny_root, tmp_path, monkeypatch):
    """Four steps of the full model: no host read outside the CPU-side augmentation parameters.
    Rules out a .item() per loss term, the attention logit and the 25 noise levels read each
    step, a finite check per step, and smplx's parents[i] walk (23 reads a body-model call)."""
    config = profile(name, "resnext_supergat_disc", data_root=tiny_root)
    tiny = profile("tiny", data_root=tiny_root)
    config = replace(
        config,
        data=tiny.data,
        model=replace(config.model, pretrained="none"),
        optim=replace(config.optim, batch_size=4, iterations=100),
        amp="off",
    )
    trainer = Trainer(config, tmp_path, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    trainer.step(batch)  # the first step may set things up
    reads = count_host_reads(monkeypatch)
    for _ in range(4):
        trainer.step(batch)
    monkeypatch.undo()
    assert reads == [], sorted(set(reads))
