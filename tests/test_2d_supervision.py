"""2D supervision (issue 17): the labels' joints in the crop, the heatmap head and its losses."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from hmrlib.body import load_body_model
from hmrlib.data.crop import BOX_MARGIN
from hmrlib.data.dataset import H36MDataset
from hmrlib.data.h36m import SYNTH_MANIFEST
from hmrlib.errors import ConfigError, DataError
from hmrlib.geometry import project_to_crop
from hmrlib.skeleton import MIRROR_PERMUTATION
from hmrlib.train import Trainer, profile
from hmrlib.train.losses import heatmap_loss, reprojection_loss


def with_2d(config, heatmaps=1.0, reprojection=1.0):
    return replace(
        config,
        model=replace(config.model, joint_heatmaps=True),
        loss=replace(config.loss, heatmaps=heatmaps, reprojection=reprojection),
    )


def test_the_labels_mesh_fills_its_crop_as_the_box_was_made(tiny_root):
    """SynthH36M's box is centred on the projected mesh, its side 1.2 x the mesh's larger extent:
    projected with the frame's camera into the crop, the label's mesh must show exactly that."""
    dataset = H36MDataset(tiny_root, subjects=("S9",), image_size=32, with_camera=True, progress=False)
    body = load_body_model()
    indices = np.linspace(0, len(dataset) - 1, 12).astype(int)
    items = [dataset[i] for i in indices]
    with torch.no_grad():
        vertices = body(**dataset.labels(indices)).vertices
    points = project_to_crop(
        vertices, torch.stack([i["camera"] for i in items]), torch.stack([i["crop_box"] for i in items])
    )
    low, high = points.min(1).values, points.max(1).values
    # the box is cut to whole pixels (its corner and side truncated, as the course's code does):
    # the crop's centre moves by up to 1.5 pixels, its side by up to one
    pixel = 2 / torch.stack([i["crop_box"][2] for i in items])[:, None]
    assert (((low + high) / 2).abs() < 2 * pixel).all()
    assert (((high - low).max(1, keepdim=True).values - 2 / BOX_MARGIN).abs() < 2 * pixel).all()


def test_the_heatmap_loss_is_zero_at_its_gaussian_and_grows_with_the_distance():
    target = torch.tensor([[[0.1, -0.3]]])
    height = width = 12
    xs = (torch.arange(width) + 0.5) / width * 2 - 1
    dx, dy = (xs - 0.1) * width / 2, (xs + 0.3) * height / 2
    exact = -(dy[:, None] ** 2 + dx[None, :] ** 2) / 2
    assert heatmap_loss(exact[None, None], target).item() == pytest.approx(0.0, abs=1e-5)
    near = heatmap_loss(exact.roll(1, 1)[None, None], target)
    far = heatmap_loss(exact.roll(4, 1)[None, None], target)
    assert 0 < near < far
    outside = torch.tensor([[[1.5, 0.0]]])  # a joint beyond the crop's edge is not supervised
    assert heatmap_loss(exact.roll(4, 1)[None, None], outside).item() == 0.0
    assert reprojection_loss(torch.zeros(1, 1, 2), outside).item() == 0.0
    assert reprojection_loss(torch.tensor([[[0.2, 0.1]]]), torch.tensor([[[0.0, 0.0]]])).item() == pytest.approx(0.3)


def test_a_flipped_image_moves_its_joints_and_they_trade_sides(tiny_root, tmp_path):
    config = with_2d(profile("tiny", "resnet50", data_root=tiny_root))
    config = replace(config, augment=replace(config.augment, ops=("flip",), p_max=1.0, ramp_iterations=0))
    trainer = Trainer(config, tmp_path, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    none = {"applied": {op: torch.zeros(4, dtype=torch.bool) for op in ("flip", "rotate", "translate", "scale")}}
    none["matrix"] = torch.eye(3).repeat(4, 1, 1)
    pose = torch.cat([batch["global_orient"], batch["body_pose"]], 1)
    joints = trainer.body.mesh(pose, batch["betas"], batch["transl"]).joints
    plain = trainer._joints_in_image(batch, none, joints)
    flipped = {"applied": {**none["applied"], "flip": torch.tensor([True, False, True, False])}}
    flipped["matrix"] = torch.diag(torch.tensor([-1.0, 1.0, 1.0])).repeat(4, 1, 1)
    flipped["matrix"][[1, 3]] = torch.eye(3)
    moved = trainer._joints_in_image(batch, flipped, joints)
    mirror = plain[:, list(MIRROR_PERMUTATION)] * torch.tensor([-1.0, 1.0])
    assert torch.allclose(moved[[0, 2]], mirror[[0, 2]], atol=1e-6)
    assert torch.allclose(moved[[1, 3]], plain[[1, 3]], atol=1e-6)


def test_the_heatmap_head_learns_where_the_joints_are(tiny_root, tmp_path):
    """Both 2D terms are logged and fall on one batch; the heatmaps come at stride 4."""
    config = with_2d(profile("tiny", "resnext_supergat", data_root=tiny_root))
    config = replace(config, augment=replace(config.augment, p_max=0.0))
    trainer = Trainer(config, tmp_path, progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    first = trainer.step(batch)
    for _ in range(30):
        last = trainer.step(batch)
    assert last["heatmaps"] < 0.7 * first["heatmaps"]
    assert last["reprojection"] < first["reprojection"]
    out = trainer.generator.eval()(batch["image"])
    assert out.heatmaps.shape == (4, 24, 8, 8)


def test_settings_that_need_what_is_missing_stop_before_training(tiny_root, tmp_path):
    base = profile("tiny", "resnet50", data_root=tiny_root)
    with pytest.raises(ConfigError, match="model.joint_heatmaps=true"):
        Trainer(replace(base, loss=replace(base.loss, heatmaps=1.0)), tmp_path / "a", progress=False)
    odd = replace(with_2d(base), data=replace(base.data, image_size=40))
    with pytest.raises(ConfigError, match="data.image_size must be a multiple of 16"):
        Trainer(odd, tmp_path / "b", progress=False)
    # a camera whose intrinsics nobody knows: the course layout with a made-up camera name
    root = tmp_path / "unknown_camera"
    sequence = next((tiny_root / "H36M_data_st" / "S1").iterdir()).name
    renamed = sequence.split(".")[0] + ".12345678"
    shutil.copytree(tiny_root / "H36M_data_st" / "S1" / sequence, root / "H36M_data_st" / "S1" / renamed)
    shutil.copytree(tiny_root / "H36M" / "S1" / "Images" / sequence, root / "H36M" / "S1" / "Images" / renamed)
    manifest = json.loads((tiny_root / SYNTH_MANIFEST).read_text())
    (root / SYNTH_MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="camera '12345678' has no known intrinsics.*loss.heatmaps"):
        H36MDataset(root, subjects=("S1",), image_size=32, with_camera=True, progress=False)


def test_heading_bins_start_at_their_centres_and_pick_the_most_likely():
    from hmrlib.geometry import about_camera_vertical, heading_angle, rotvec_to_matrix, sixd_to_matrix
    from hmrlib.models.heads import HeadingBins

    angles = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.5])
    assert torch.allclose(heading_angle(about_camera_vertical(angles)), angles, atol=1e-6)
    bins = HeadingBins(16, bins=8)
    tilted = rotvec_to_matrix(torch.tensor([0.3, 0.0, 0.1]))  # upright-ish, leaning
    bins.start_from(tilted)
    centres = sixd_to_matrix(bins.centres)
    assert torch.allclose(heading_angle(centres), bins.bin_centres(), atol=1e-5)
    assert torch.equal(bins.bin_of(centres), torch.arange(8))
    # turning about the camera's vertical keeps the lean: every centre is the start turned
    turn = centres @ tilted.T
    assert torch.allclose(turn[:, 1], torch.tensor([0.0, 1.0, 0.0]).expand(8, 3), atol=1e-5)


def test_heading_bins_train_their_classifier_and_need_its_loss(tiny_root, tmp_path):
    base = profile("tiny", "resnet50", data_root=tiny_root)
    config = replace(
        base,
        model=replace(base.model, heading_bins=8),
        loss=replace(base.loss, heading=1.0),
        augment=replace(base.augment, p_max=0.0),
    )
    trainer = Trainer(config, tmp_path / "run", progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    first = trainer.step(batch)
    for _ in range(20):
        last = trainer.step(batch)
    assert last["heading"] < 0.5 * first["heading"]
    out = trainer.generator.eval()(batch["image"])
    chosen = out.heading_orientations[torch.arange(4), out.heading_logits.argmax(1)]
    from hmrlib.geometry import rotvec_to_matrix

    assert torch.allclose(rotvec_to_matrix(out.pose[:, :3]), chosen, atol=1e-4)
    with pytest.raises(ConfigError, match="model.heading_bins and loss.heading go together"):
        Trainer(replace(config, loss=replace(config.loss, heading=0.0)), tmp_path / "b", progress=False)


def test_joint_aligned_nodes_start_from_the_image_at_their_joints():
    from hmrlib.models import Generator, ModelConfig
    from hmrlib.models.heads import JointAlignedInputs

    peaked = torch.full((1, 2, 8, 8), -30.0)
    peaked[0, 0, 1, 6] = peaked[0, 1, 5, 2] = 30.0  # (row, column)
    centres = (torch.tensor([6.0, 1.0, 2.0, 5.0]) + 0.5) / 8 * 2 - 1
    assert torch.allclose(JointAlignedInputs.soft_argmax(peaked), centres.view(1, 2, 2), atol=1e-4)
    config = ModelConfig(variant="resnext_supergat", pretrained="none", joint_heatmaps=True, joint_nodes=True)
    generator = Generator(config).eval()
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        features, maps = generator.backbone.forward_with_maps(images)
        nodes = generator.joint_inputs(generator.heatmap_head(list(maps)), maps[1])
    assert nodes.shape == (2, 24, config.node_features)
    assert (nodes[0] - nodes[0, :1]).abs().amax(1)[1:].min() > 0  # 24 different inputs
    with pytest.raises(ConfigError, match="model.joint_nodes .* needs model.joint_heatmaps=true"):
        ModelConfig(variant="resnext_supergat", joint_nodes=True)
    with pytest.raises(ConfigError, match="a SuperGAT variant"):
        ModelConfig(variant="resnet50", joint_heatmaps=True, joint_nodes=True)
