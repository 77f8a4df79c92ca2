import pytest
import torch

from hmrlib.losses import LossWeights, vertex_losses, weighted_total
from hmrlib.models import Backbone, Generator, ModelConfig, ResidualShapeHead, SuperGATPoseHead
from hmrlib.skeleton import NUM_JOINTS

torch.manual_seed(0)


def make(variant, **overrides):
    return Generator(ModelConfig(variant=variant, pretrained="none", **overrides), BODY)


@pytest.fixture(scope="module", autouse=True)
def body(standin):
    global BODY
    BODY = standin


@pytest.mark.parametrize("variant, rotation", [("resnet50", "axis-angle"), ("resnext_supergat", "axis-angle"),
                                               ("resnext_supergat_disc", "axis-angle"), ("resnext_supergat", "6d")])
def test_output_shapes(variant, rotation):
    model = make(variant, rotation=rotation).train()
    out = model(torch.rand(3, 3, 64, 64), transl=torch.tensor([0.0, 0.0, 4.0]).expand(3, 3))
    assert out.pose.shape == (3, 72) and out.betas.shape == (3, 10)
    assert out.vertices.shape == (3, BODY.num_vertices, 3) and out.joints.shape == (3, 24, 3)
    assert torch.allclose(out.joints[:, 0, 2], torch.tensor(4.0), atol=0.1)  # placed by transl
    assert (out.attention_loss is None) == (variant == "resnet50")


def test_sixd_head_starts_at_the_identity():
    head = SuperGATPoseHead(rotation="6d")
    torch.nn.init.zeros_(head.readout.weight)
    pose, _ = head.eval()(torch.randn(2, 2048))
    assert torch.allclose(pose, torch.zeros(2, 72), atol=1e-6)


def test_gradients_reach_every_trainable_parameter_and_no_frozen_one():
    model = make("resnext_supergat", fine_tune="last2").train()
    out = model(torch.rand(4, 3, 64, 64), transl=torch.zeros(4, 3))
    terms = vertex_losses(out.vertices, torch.zeros_like(out.vertices))
    terms["attention"] = out.attention_loss
    weighted_total(terms, LossWeights()).backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p for n, p in model.named_parameters() if not p.requires_grad}
    assert all(n.startswith(("backbone.net.layer4.1", "backbone.net.layer4.2", "pose_head", "shape_head")) for n in trainable)
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


def test_negative_samples_stay_inside_each_graph():
    head = SuperGATPoseHead().train()
    head(torch.randn(8, 2048))
    for conv in head.convs:
        edges = conv.negative_sampling(*head.batched_graph(8)[:1], 8 * NUM_JOINTS, head.batched_graph(8)[1])
        assert (edges[0] // NUM_JOINTS == edges[1] // NUM_JOINTS).all()


def test_shape_head_depth_and_width():
    head = ResidualShapeHead()
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 10 and all(m.out_features == 128 for m in linears[:-1])
    dropouts = [m.p for m in head.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and set(dropouts) == {0.05}


def test_state_dict_leaves_out_the_body_model_and_reloads():
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
