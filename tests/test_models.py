import pytest
import torch

from hmrlib.models import Backbone, Generator, ModelConfig, ResidualShapeHead, SuperGATPoseHead
from hmrlib.skeleton import NUM_JOINTS
from hmrlib.train.losses import LossWeights, vertex_losses, weighted_total

torch.manual_seed(0)


def make(variant, **overrides):
    return Generator(ModelConfig(variant=variant, pretrained="none", **overrides))


@pytest.fixture(scope="module", autouse=True)
def body(standin):
    global BODY
    BODY = standin


@pytest.mark.parametrize(
    "variant, rotation",
    [
        ("resnet50", "axis-angle"),
        ("resnext_supergat", "axis-angle"),
        ("resnext_supergat_disc", "axis-angle"),
        ("resnext_supergat", "6d"),
    ],
)
def test_output_shapes(variant, rotation):
    model = make(variant, rotation=rotation).train()
    out = model(torch.rand(3, 3, 64, 64))
    assert out.pose.shape == (3, 72) and out.betas.shape == (3, 10)
    mesh = BODY.mesh(out.pose, out.betas, transl=torch.tensor([0.0, 0.0, 4.0]).expand(3, 3))
    assert mesh.vertices.shape == (3, BODY.num_vertices, 3) and mesh.joints.shape == (3, 24, 3)
    assert torch.allclose(mesh.joints[:, 0, 2], torch.tensor(4.0), atol=0.1)  # placed by transl
    assert (out.attention_loss is None) == (variant == "resnet50")


@pytest.mark.parametrize(
    "variant, rotation",
    [("resnet50", "axis-angle"), ("resnext_supergat", "axis-angle"), ("resnet50", "6d"), ("resnext_supergat", "6d")],
)
def test_every_head_starts_at_the_mean_pose(variant, rotation):
    model = make(variant, rotation=rotation, mean_start=True).eval()  # hmrlib's start (ModelConfig.mean_start)
    mean_pose, mean_betas = 0.3 * torch.randn(72), torch.randn(10)
    model.set_mean_parameters(mean_pose, mean_betas)
    for head in (model.pose_head, model.shape_head):
        last = (
            head.readout
            if isinstance(head, SuperGATPoseHead)
            else head.output[-1]
            if isinstance(head, ResidualShapeHead)
            else head.linear
        )
        torch.nn.init.zeros_(last.weight)
    out = model(torch.rand(2, 3, 64, 64))
    assert torch.allclose(out.pose, mean_pose.expand(2, -1), atol=1e-5)
    assert torch.allclose(out.betas, mean_betas.expand(2, -1), atol=1e-5)
    assert torch.equal(model.state_dict()["mean_pose"], mean_pose)  # saved with the weights


def test_gradients_reach_every_trainable_parameter_and_no_frozen_one():
    model = make("resnext_supergat", fine_tune="last2").train()
    out = model(torch.rand(4, 3, 64, 64))
    vertices = BODY.mesh(out.pose, out.betas, transl=torch.zeros(4, 3)).vertices
    terms = vertex_losses(vertices, torch.zeros_like(vertices))
    terms["attention"] = out.attention_loss
    weighted_total(terms, LossWeights()).backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p for n, p in model.named_parameters() if not p.requires_grad}
    assert all(
        n.startswith(("backbone.net.layer4.1", "backbone.net.layer4.2", "pose_head", "shape_head")) for n in trainable
    )
    assert any(n.startswith("backbone.net.layer1") for n in frozen)
    missing = [n for n, p in trainable.items() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
    assert all(p.grad is None for p in frozen.values())


def test_frozen_batchnorm_stays_in_eval_mode():
    backbone = Backbone("resnet50", pretrained="none", fine_tune="last1").train()
    assert not backbone.net.bn1.training and not backbone.net.layer1[0].bn1.training
    assert backbone.net.layer4[2].bn1.training


def test_attention_loss_in_training_only():
    head = SuperGATPoseHead()
    _, loss = head.train()(torch.randn(4, 2048))
    assert loss.ndim == 0 and loss > 0
    _, loss = head.eval()(torch.randn(4, 2048))
    assert loss is None


@pytest.mark.parametrize("batch_size", [2, 8, 64])
def test_negatives_are_non_edges_of_their_own_graph_fixed_in_number(batch_size):
    head = SuperGATPoseHead().train()
    negatives = head.negative_edges(batch_size)
    per_graph = head.negatives_per_graph
    assert negatives.shape == (2, batch_size * per_graph)  # the same count per graph, whatever the batch
    graph = negatives // NUM_JOINTS
    assert (graph[0] == graph[1]).all() and torch.equal(graph[0], torch.arange(batch_size).repeat_interleave(per_graph))
    edges = {tuple(e) for e in head.edge_index.T.tolist()}
    local = (negatives % NUM_JOINTS).T.tolist()
    assert not any(tuple(pair) in edges or pair[0] == pair[1] for pair in local)
    assert len({(g, *pair) for g, pair in zip(graph[0].tolist(), local)}) == len(local)  # no pair twice in a graph
    # positives per graph: 2E directed edges + 24 self-loops; PyG's ratio 0.5 of them as negatives
    assert per_graph == round(0.5 * (head.edge_index.shape[1] + NUM_JOINTS))


def test_shape_head_depth_and_width():
    head = ResidualShapeHead()
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 10 and all(m.out_features == 128 for m in linears[:-1])
    dropouts = [m.p for m in head.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and set(dropouts) == {0.05}


def test_state_dict_holds_the_network_only_and_reloads():
    model = make("resnet50")
    state = model.state_dict()
    assert not any(k.startswith("body.") for k in state)
    other = make("resnet50")
    other.load_state_dict(state)
    assert torch.equal(other.pose_head.linear.weight, model.pose_head.linear.weight)


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="variant must be one of"):
        ModelConfig(variant="vgg")
    with pytest.raises(ValueError, match="fine_tune must be"):
        Backbone("resnet50", pretrained="none", fine_tune="last99")
    with pytest.raises(FileNotFoundError, match="no ImageNet weights for resnext50"):
        Backbone("resnext50", pretrained="required")
