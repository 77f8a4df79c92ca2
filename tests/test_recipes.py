"""What each profile's recipe trains on, ImageNet weights really loaded, and a resume that
restores everything an uninterrupted run would have."""

from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from hmrlib.compat import import_torchvision
from hmrlib.constants import PROFILES
from hmrlib.models.backbone import ARCHITECTURES, Backbone
from hmrlib.train import Trainer, profile


def at_tiny_size(config, tiny_root):
    """A profile's recipe on SynthH36M tiny at 32², four images a batch, no ImageNet weights."""
    tiny = profile("tiny", data_root=tiny_root)
    return replace(
        config,
        data=replace(tiny.data, require_smpl=False),
        optim=replace(config.optim, batch_size=4, iterations=2),
        model=replace(config.model, pretrained="none"),
        val_every=2,
        checkpoint_every=2,
    )


@pytest.mark.parametrize("name", [p for p in PROFILES if p != "cpu-long"])  # cpu-long: cpu's recipe, longer
def test_every_weighted_loss_term_is_computed_and_counted(name, tiny_root, tmp_path):
    """One step of each profile's recipe (the full model): every term its LossWeights weights is
    in the step's values, finite and non-zero, and the loss is exactly the weighted sum of them.
    Rules out a term that a profile sets but the step never computes (e.g. the cpu recipe's
    rotation or joint loss), and one computed but left out of the total."""
    config = at_tiny_size(profile(name, "resnext_supergat_disc", data_root=tiny_root), tiny_root)
    trainer = Trainer(config, tmp_path, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    values = {k: float(v) for k, v in trainer.step(batch).items()}  # tensors on the device, read here
    weighted = {term: weight for term, weight in asdict(config.loss).items() if weight}
    assert set(weighted) <= set(values), f"{name}: terms not computed: {set(weighted) - set(values)}"
    assert all(np.isfinite(values[t]) and values[t] != 0 for t in weighted), values
    assert values["loss"] == pytest.approx(sum(w * values[t] for t, w in weighted.items()), rel=1e-5)
    if name in ("cpu", "gpu"):
        assert {"rotations", "joints"} <= set(weighted) and config.model.rotation == "6d"


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_imagenet_weights_are_loaded_as_the_file_says(architecture, tmp_path):
    """A stand-in weights file (torchvision's network of that architecture with weights of its
    own seed): the backbone's parameters are the file's, and its features are torchvision's
    network's on the normalised image. Rules out a backbone that ignores the file."""
    torchvision = import_torchvision()
    torch.manual_seed(123)
    reference = getattr(torchvision.models, ARCHITECTURES[architecture])(weights=None).eval()
    path = tmp_path / f"{architecture}.pth"
    torch.save(reference.state_dict(), path)
    torch.manual_seed(0)
    backbone = Backbone(architecture, pretrained="required", weights_path=path).eval()
    assert backbone.pretrained
    for name, tensor in reference.state_dict().items():
        if not name.startswith("fc."):
            assert torch.equal(backbone.net.state_dict()[name], tensor), name
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    reference.fc = torch.nn.Identity()
    with torch.no_grad():
        expected = reference((images - backbone.mean) / backbone.std)
        assert torch.allclose(backbone(images), expected, atol=1e-5)


def stop_after(trainer, iteration):
    """Make the run stop (as if killed) once ``iteration`` steps and their checkpoint are done."""
    step = trainer.step

    def stopping(batch):
        if trainer.iteration == iteration:
            raise KeyboardInterrupt
        return step(batch)

    trainer.step = stopping


def resume_problems(tiny_root, tmp_path) -> list[str]:
    """Train 12 steps straight, and 8 + a resumed 4 (validation at 6, checkpoints every 4): what
    the resumed run did differently."""
    base = profile("tiny", data_root=tiny_root)
    straight = Trainer(base, tmp_path / "straight", progress=False)
    straight.run()
    first = Trainer(base, tmp_path / "resumed", progress=False)
    stop_after(first, 8)
    with pytest.raises(KeyboardInterrupt):
        first.run()
    best_at_8 = first.best_val
    resumed = Trainer(base, tmp_path / "resumed", progress=False)
    problems = []
    if resumed.iteration != 8:
        problems.append(f"iteration {resumed.iteration}, not 8")
    if resumed.best_val != best_at_8 or not np.isfinite(resumed.best_val):
        problems.append(f"best_val {resumed.best_val}, not {best_at_8}")
    steps = []
    step = resumed.step
    resumed.step = lambda batch: steps.append(1) or step(batch)
    resumed.run()
    if len(steps) != 4:
        problems.append(f"{len(steps)} steps after the resume, not 4")
    for (name, a), b in zip(straight.generator.state_dict().items(), resumed.generator.state_dict().values()):
        if not torch.equal(a, b):
            problems.append(f"weights differ from the uninterrupted run's ({name})")
            break
    if not torch.equal(straight.discriminator.noise_std, resumed.discriminator.noise_std):
        problems.append("discriminator noise differs")
    if resumed.best_val != straight.best_val:
        problems.append(f"best_val {resumed.best_val} vs {straight.best_val}")
    return problems


def test_a_resumed_run_ends_as_an_uninterrupted_one(tiny_root, tmp_path):
    """Weights (hence the optimiser's moments and every RNG stream), the iteration, the
    discriminator's noise and best_val (a validation ran before the stop) all match."""
    assert resume_problems(tiny_root, tmp_path) == []


def test_a_resume_that_does_nothing_fails_these_checks(tiny_root, tmp_path, monkeypatch):
    """The same checks with a resume that restores nothing: they fail (a fresh run with the same
    seed logs the same losses, which is why comparing logs alone could not tell)."""
    monkeypatch.setattr(Trainer, "_resume", lambda self: False)
    assert resume_problems(tiny_root, tmp_path)
