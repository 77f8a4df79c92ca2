"""A training step never makes the host wait for the GPU, in every profile — proven on the CPU.

hmrlib.train.waits.WaitCounter sees every ATen operation a step dispatches and the Python-level
reads (tolist, numpy), and names each place where a GPU would wait: a value read back (item,
bool, a boolean-mask index, nonzero, an inverse's error check) or a copy of host memory (a tensor
from a list or a numpy array, a list used as an index). The code before this test waited 45 times
a step in the gpu profile (the augmentation's masks and inverse, PyG's self-loop removal, the
skeleton's list indices, the real poses from numpy) and 186 times in the paper profile at batch 4
(PyG's negative sampling on the host); float16's skip decision read the loss back every step.
The attention loss's negatives, now drawn on the device, are compared with PyG's own sampler."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import stats
from torch_geometric.nn import SuperGATConv

from hmrlib.models.negatives import PygNegatives
from hmrlib.skeleton import NUM_JOINTS, pose_graph_edges
from hmrlib.train import Trainer, profile
from hmrlib.train.augment import ALL_OPS
from hmrlib.train.waits import WaitCounter

CASES = {  # name: (profile, augmentation on, amp, extra settings)
    "cpu": ("cpu", False, "off", {}),
    "gpu, augmented": ("gpu", True, "off", {}),
    "gpu, bfloat16": ("gpu", True, "bfloat16", {}),
    "gpu, float16": ("gpu", True, "float16", {}),
    "paper, before the ramp": ("paper", False, "off", {}),
    "paper, augmented": ("paper", True, "off", {}),
    "cpu, every 2D option": ("cpu", True, "off", {"heatmaps": True}),
}


def trainer_for(case, root, tmp_path) -> Trainer:
    name, augmented, amp, extra = CASES[case]
    config = profile(name, "resnext_supergat_disc", data_root=root)
    tiny = profile("tiny", data_root=root)
    config = replace(
        config,
        data=replace(tiny.data, image_size=64),
        model=replace(config.model, pretrained="none"),
        optim=replace(config.optim, batch_size=4, iterations=100),
        amp=amp,
    )
    if augmented:  # every op, at full probability from the first step
        config = replace(config, augment=replace(config.augment, p_max=0.75, ramp_iterations=0, ops=ALL_OPS))
    if extra.get("heatmaps"):
        config = replace(
            config,
            model=replace(config.model, joint_heatmaps=True, joint_nodes=True, heading_bins=8),
            loss=replace(config.loss, heatmaps=1.0, reprojection=1.0, heading=1.0),
        )
    return Trainer(config, tmp_path, progress=False)


def test_the_counter_sees_each_kind_of_wait_and_nothing_else():
    """What the zero below rests on: each kind is named, with its place; a plain step's ops and a
    Python scalar (passed to a kernel by value) are not."""
    x = torch.arange(6.0)
    with WaitCounter() as waits:
        x.sum().item()
        bool(x[0] > 0)
        x[x > 2]
        x.tolist()
        x.numpy()
        torch.tensor([1.0, 2.0])
        x[[0, 2]]
        torch.linalg.inv(torch.eye(3))
        torch.where(x > 2)
    kinds = sorted(place.split(" (")[1].rstrip(")") for place in waits.places.elements())
    assert kinds == sorted(
        ["_local_scalar_dense"] * 2
        + ["boolean-mask index", "tolist", "numpy", "tensor from host data", "tensor from host data"]
        + ["_linalg_check_errors", "nonzero"]
    ), kinds
    assert all(place.startswith("tests/test_device_waits.py:") is False for place in waits.places)  # not hmrlib's
    with WaitCounter() as none:
        y = (x * 2).clamp(0, 3)
        y[:2] = 1.0
        torch.where(y > 1, y, 0.0).argsort()
    assert none.total == 0, none.places


@pytest.mark.parametrize("case", list(CASES))
def test_a_training_step_never_waits_for_the_device(case, tiny_root, tmp_path):
    trainer = trainer_for(case, tiny_root, tmp_path)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    trainer.step(batch)  # the first step may set things up (device constants, PyG's plan for the batch size)
    with WaitCounter() as waits:
        for _ in range(2):
            trainer.step(batch)
    assert waits.total == 0, "\n".join(f"{n} x {place}" for place, n in sorted(waits.places.items()))


def pyg_sampler_draws(batch_size: int, draws: int):
    """PyG's own sampler as SuperGATConv calls it, ``draws`` times: per graph, the counts and how
    often each ordered pair was drawn."""
    conv = SuperGATConv(8, 8, heads=1, is_undirected=True)
    edges = pose_graph_edges()
    offsets = torch.arange(batch_size) * NUM_JOINTS
    listed = (edges[:, None, :] + offsets[None, :, None]).flatten(1)
    listed = torch.cat(
        [listed, torch.arange(batch_size * NUM_JOINTS).repeat(2, 1)], 1
    )  # + self-loops, as the conv does
    batch = torch.arange(batch_size).repeat_interleave(NUM_JOINTS)
    return _tally(lambda: conv.negative_sampling(listed, batch_size * NUM_JOINTS, batch), batch_size, draws)


def _tally(draw, batch_size, draws):
    counts = np.zeros((draws, batch_size), int)
    hits = np.zeros((batch_size, NUM_JOINTS, NUM_JOINTS), int)
    for k in range(draws):
        negatives = draw()
        graph = (negatives[0] // NUM_JOINTS).numpy()
        np.add.at(counts[k], graph, 1)
        np.add.at(hits, (graph, (negatives[0] % NUM_JOINTS).numpy(), (negatives[1] % NUM_JOINTS).numpy()), 1)
    return counts, hits


@pytest.mark.parametrize("batch_size", [2, 5, 16])
def test_the_device_negatives_are_pygs_count_and_distribution(batch_size):
    """The same number per graph as PyG's sampler (within 1 %), drawn from the same pairs, and
    uniformly: a chi-square test of each graph's pair counts against the uniform, for ours and
    for PyG's (at batch 16 every candidate is drawn: 8,712 negatives, 544.5 a graph)."""
    import random

    random.seed(0)  # PyG draws with Python's random
    torch.manual_seed(0)
    draws = 300 if batch_size < 16 else 3
    pyg_counts, pyg_hits = pyg_sampler_draws(batch_size, draws)
    ours = PygNegatives(pose_graph_edges(), ratio=0.5)
    counts, hits = _tally(lambda: ours(batch_size), batch_size, draws)
    assert np.allclose(counts.mean(0), pyg_counts.mean(0), rtol=0.01)
    assert ((hits > 0) == (pyg_hits > 0)).all()  # the same candidate pairs, never a self pair
    if batch_size == 16:
        assert counts.sum(1).tolist() == [8_712] * draws
    for graph in range(batch_size):
        for tally in (hits[graph], pyg_hits[graph]):
            drawn = tally[tally > 0]
            if drawn.size and drawn.min() != drawn.max():  # not every candidate every time
                assert stats.chisquare(drawn).pvalue > 1e-4


def test_the_attention_loss_with_device_negatives_equals_pygs_at_batch_16(monkeypatch):
    """At batch 16 PyG draws every candidate, so the two losses are the same number."""
    from hmrlib.models import Generator, ModelConfig

    head = Generator(ModelConfig(variant="resnext_supergat", pretrained="none", gat_dropout=0.0)).pose_head.train()
    head.dropout.p = 0.0
    features = torch.rand(16, 2048)
    torch.manual_seed(1)
    _, ours = head(features)
    listed = head.batched_graph(16)
    batch = torch.arange(16).repeat_interleave(NUM_JOINTS)
    pygs_own = lambda size: head.convs[0].negative_sampling(listed, 16 * NUM_JOINTS, batch)  # noqa: E731
    monkeypatch.setattr(head.pyg_negatives, "forward", pygs_own)
    _, pygs = head(features)
    assert torch.allclose(ours, pygs, rtol=1e-5)
