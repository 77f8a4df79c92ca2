"""The `paper` profile builds the authors' network (their released model files), point for point;
hmrlib's own changes are named settings that the other profiles switch on; checkpoints written
before those settings existed load and predict as they did."""

from dataclasses import asdict

import pytest
import torch
from torch import nn

from hmrlib.models import Generator, ModelConfig, PoseDiscriminator, ResidualShapeHead
from hmrlib.models.generator import HMRLIB_CHANGES
from hmrlib.skeleton import NUM_JOINTS
from hmrlib.train import profile
from hmrlib.train.checkpoint import save_atomic
from hmrlib.train.config import TrainConfig
from hmrlib.train.trained import load_trained


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def paper_generator():
    config = profile("paper", "resnext_supergat_disc", pretrained="none").model
    return Generator(config)


def test_the_paper_profile_is_the_authors_network_and_has_none_of_hmrlibs_changes():
    paper = profile("paper", pretrained="none").model
    assert asdict(paper) == asdict(ModelConfig(variant=paper.variant, pretrained="none"))
    assert all(getattr(paper, name) != value for name, value in HMRLIB_CHANGES.items())
    for name in ("cpu", "gpu", "tiny"):  # the profiles that train from scratch keep hmrlib's changes
        model = profile(name).model
        assert {k: getattr(model, k) for k in HMRLIB_CHANGES} == HMRLIB_CHANGES
    assert profile("paper").data.box_rounding == "truncate"


def test_parameter_counts_module_by_module(paper_generator):
    head = paper_generator.pose_head
    assert count(paper_generator.backbone) == 22_979_904
    assert count(head.encode) == 1_049_088  # Linear(2048 -> 512)
    assert count(head.convs) == 393_984  # three SuperGATConv, the first taking 512
    assert count(head.initial_residual) == 787_968  # three Linear(512 -> 512)
    assert count(head.readout) == 884_808  # Linear(24 * 512 -> 72)
    assert count(head) == 3_115_848  # nothing else: no per-node offset, no LayerNorm
    assert count(paper_generator.shape_head) == 397_962
    assert count(paper_generator) == 26_493_714
    discriminator = PoseDiscriminator()
    per_joint = count(discriminator.embed) + discriminator.joint_weight.numel() + discriminator.joint_bias.numel()
    assert per_joint == 3_191 and count(discriminator.full_pose) == 23_617
    assert discriminator.noise_std.shape == (2,)  # one level per module, as the authors' modules


def test_each_node_draws_its_own_dropout_mask_in_training(paper_generator):
    head = paper_generator.pose_head
    features = torch.rand(2, 2048)
    head.train()
    nodes = head.encode_nodes(features).view(2, NUM_JOINTS, -1)
    assert all(not torch.equal(nodes[:, 0], nodes[:, k]) for k in range(1, NUM_JOINTS))
    head.eval()
    nodes = head.encode_nodes(features).view(2, NUM_JOINTS, -1)
    assert all(torch.equal(nodes[:, 0], nodes[:, k]) for k in range(1, NUM_JOINTS))  # the authors': identical
    shared = Generator(ModelConfig(variant="resnext_supergat", pretrained="none", node_dropout="shared"))
    nodes = shared.pose_head.train().encode_nodes(features).view(2, NUM_JOINTS, -1)
    assert all(torch.equal(nodes[:, 0], nodes[:, k]) for k in range(1, NUM_JOINTS))


def test_the_attention_loss_uses_pygs_own_negatives(paper_generator):
    head = paper_generator.pose_head.train()
    head(torch.rand(16, 2048))
    for conv in head.convs:  # att_y: 1 for each positive edge (self-loops included), 0 for each negative
        positives = int(conv.att_y.sum())
        assert positives == 16 * 88
        assert conv.att_y.numel() - positives == 8_712  # 544.5 a graph at batch 16
    cpu = Generator(profile("cpu", "resnext_supergat").model).pose_head.train()
    cpu(torch.rand(16, 2048))
    assert cpu.convs[0].att_y.numel() - 16 * 88 == 16 * 44  # hmrlib's fixed count per graph


def test_activation_slope_and_no_normalisation(paper_generator):
    head = paper_generator.pose_head
    assert head.leaky_slope == 0.01 and all(isinstance(norm, nn.Identity) for norm in head.norms)
    batchnorms = [m for m in paper_generator.shape_head.modules() if isinstance(m, nn.BatchNorm1d)]
    assert batchnorms and all(m.eps == 1e-5 for m in batchnorms)


class AuthorsBlock(nn.Module):
    """The authors' shape block as their code writes it: an in-place ReLU first."""

    def __init__(self, width, dropout):
        super().__init__()
        self.relu, self.dropout = nn.ReLU(inplace=True), nn.Dropout(dropout)
        self.w1, self.batch_norm1 = nn.Linear(width, width), nn.BatchNorm1d(width)
        self.w2, self.batch_norm2 = nn.Linear(width, width), nn.BatchNorm1d(width)

    def forward(self, x):
        y = self.w1(self.dropout(self.batch_norm1(self.relu(x))))  # the in-place ReLU overwrites x
        y = self.w2(self.dropout(self.batch_norm2(self.relu(y))))
        return x + y


def authors_shape_head(ours: ResidualShapeHead) -> nn.Sequential:
    """The authors' shape head with our weights copied in, parameter for parameter."""
    blocks = [AuthorsBlock(128, 0.05) for _ in ours.blocks]
    theirs = nn.Sequential(
        nn.Linear(2048, 128), *blocks, nn.ReLU(inplace=True), nn.BatchNorm1d(128), nn.Linear(128, 10)
    )
    mine = [ours.input, *[m for block in ours.blocks for m in block if isinstance(m, (nn.Linear, nn.BatchNorm1d))]]
    mine += [ours.output[1], ours.output[2]]
    theirs_modules = [theirs[0]]
    for block in blocks:
        theirs_modules += [block.batch_norm1, block.w1, block.batch_norm2, block.w2]
    theirs_modules += [theirs[-2], theirs[-1]]
    for source, target in zip(mine, theirs_modules):
        target.load_state_dict(source.state_dict())
    return theirs


def test_the_shape_heads_skip_reproduces_the_authors_outputs_with_the_same_weights(paper_generator):
    ours = paper_generator.shape_head.eval()
    for block in ours.blocks:  # BatchNorm statistics away from (0, 1), so that the skip's ReLU matters
        for m in block:
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)
    theirs = authors_shape_head(ours).eval()
    features = torch.randn(8, 2048)
    with torch.no_grad():
        expected = theirs(features.clone())
        assert torch.allclose(ours(features), expected, atol=1e-5)
        ours.skip = "identity"  # the text's reading, x + F(x): a different function
        assert not torch.allclose(ours(features), expected, atol=1e-3)


def test_the_paper_readouts_start_without_a_mean(paper_generator):
    assert not paper_generator.config.mean_start
    assert paper_generator.pose_head.readout.bias.abs().sum() > 0  # PyTorch's default initialisation
    cpu = Generator(profile("cpu", "resnext_supergat").model)
    assert cpu.pose_head.readout.bias.abs().sum() == 0  # hmrlib's: near zero, added to the mean pose


def test_bad_option_values_are_named():
    with pytest.raises(ValueError, match="model.gat_negatives"):
        ModelConfig(gat_negatives="some")
    with pytest.raises(ValueError, match="model.node_features"):
        ModelConfig(node_features=128)


# the settings added with the options (node_features, gat_norm and shape_bn_eps existed before)
NEW_SETTINGS = {"node_offset", "node_dropout", "gat_leaky_slope", "gat_negatives", "shape_skip", "mean_start"}
NEW_SETTINGS |= {"baseline_dropout", "disc_noise"}


def old_config_dict(config: TrainConfig) -> dict:
    """``config`` as a checkpoint written before the options existed stores it."""
    values = config.to_dict()
    values["model"] = {k: v for k, v in values["model"].items() if k not in NEW_SETTINGS}
    values["data"] = {k: v for k, v in values["data"].items() if k != "box_rounding"}
    values["init_from_mean_pose"] = True
    return values


def test_an_old_checkpoint_loads_and_predicts_as_it_did(tmp_path):
    config = profile("tiny", "resnext_supergat")  # hmrlib's changes, as every earlier checkpoint had
    torch.manual_seed(0)
    generator = Generator(config.model).eval()
    generator.set_mean_parameters(0.1 * torch.ones(72), torch.zeros(10))
    path = tmp_path / "old.pt"
    save_atomic({"generator": generator.state_dict(), "config": old_config_dict(config), "iteration": 1}, path)
    trained = load_trained(path, device="cpu")
    assert {k: getattr(trained.config.model, k) for k in HMRLIB_CHANGES} == HMRLIB_CHANGES
    assert trained.config.model.mean_start and trained.config.data.box_rounding == "round"
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(trained.generator(images).pose, generator(images).pose)
