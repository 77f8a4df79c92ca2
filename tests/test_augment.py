import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation

from hmrlib.data.crop import crop_square
from hmrlib.data.dataset import H36MDataset
from hmrlib.render import Renderer
from hmrlib.skeleton import mirror_pose
from hmrlib.train.augment import AugmentConfig, apply, augment, sample

CONFIG = AugmentConfig()


def forced(batch, ops, **values):
    """Parameters with exactly ``ops`` applied to every sample."""
    params = sample(batch, 0.0, CONFIG, generator=torch.Generator().manual_seed(1))
    for op in params["applied"]:
        params["applied"][op] = torch.full((batch,), op in ops)
    params.update({k: torch.as_tensor(v).expand_as(params[k]).clone() for k, v in values.items()})
    return params


def test_schedule():
    config = AugmentConfig(p_max=0.75, ramp_iterations=60_000)
    assert config.probability(0) == 0 and config.probability(30_000) == pytest.approx(0.375)
    assert config.probability(60_000) == config.probability(200_000) == 0.75


def test_p_zero_leaves_images_bit_identical():
    images = torch.rand(6, 3, 32, 32)
    pose = torch.randn(6, 72) * 0.3
    out, orient, body_pose, _ = augment(images, 0.0, CONFIG, pose[:, :3], pose[:, 3:])
    assert torch.equal(out, images) and torch.equal(orient, pose[:, :3]) and torch.equal(body_pose, pose[:, 3:])


def test_every_op_changes_the_image_at_p_one():
    images = torch.rand(4, 3, 32, 32) * 0.5 + 0.25
    for op in (
        "flip",
        "rotate",
        "translate",
        "scale",
        "brightness",
        "contrast",
        "lumaflip",
        "hue",
        "saturation",
        "cutout",
    ):
        out, *_ = apply(images, forced(4, {op}), CONFIG)
        assert not torch.allclose(out, images, atol=1e-3), op
        assert out.min() >= 0 and out.max() <= 1


def test_ops_not_chosen_never_apply():
    from hmrlib.errors import ConfigError
    from hmrlib.train.augment import COLOUR_OPS

    colour_only = AugmentConfig(ops=COLOUR_OPS)
    draws = sample(64, 1.0, colour_only, generator=torch.Generator().manual_seed(0))
    assert all(draws["applied"][op].all() == (op in COLOUR_OPS) for op in draws["applied"])
    assert not any(draws["applied"][op].any() for op in ("flip", "rotate", "translate", "scale", "cutout"))
    # the same draws as with every op, so the chosen ops see the same random numbers
    every = sample(64, 1.0, CONFIG, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws["hue"], every["hue"])
    with pytest.raises(ConfigError, match="unknown augmentation ops blur"):
        AugmentConfig(ops=("hue", "blur"))


def test_label_aware_flip_twice_is_the_identity():
    images = torch.rand(3, 3, 32, 32)
    pose = torch.randn(3, 72) * 0.4
    params = forced(3, {"flip"})
    once, orient, body_pose, _ = apply(images, params, CONFIG, pose[:, :3], pose[:, 3:])
    assert torch.equal(torch.cat([orient, body_pose], 1), mirror_pose(pose))
    twice, orient, body_pose, _ = apply(once, params, CONFIG, orient, body_pose)
    assert torch.allclose(twice, images, atol=1e-5)
    assert torch.equal(torch.cat([orient, body_pose], 1), pose)


def test_paper_mode_keeps_the_labels():
    pose = torch.randn(2, 72)
    _, orient, body_pose, _ = apply(
        torch.rand(2, 3, 16, 16),
        forced(2, {"flip", "rotate"}, angle=0.5),
        AugmentConfig(label_aware=False),
        pose[:, :3],
        pose[:, 3:],
    )
    assert torch.equal(orient, pose[:, :3]) and torch.equal(body_pose, pose[:, 3:])


@pytest.mark.parametrize(
    "ops, angle", [({"flip"}, 0.0), ({"rotate"}, 0.6), ({"flip", "rotate", "scale", "translate"}, -1.1)]
)
def test_augmented_labels_still_project_onto_the_body(tiny_root, standin, ops, angle):
    """Crop a synthetic frame around the principal point, augment image and labels, rebuild the
    mesh from the new labels alone and project it through the returned 2D transform: it must
    land on the augmented silhouette."""
    dataset = H36MDataset(tiny_root, subjects=["S1"], actions=["Walking"])
    index = 5
    item = dataset[index]
    intrinsics = dataset.intrinsics(index)
    params = {k: item[k][None] for k in ("global_orient", "body_pose", "betas", "transl")}
    with torch.no_grad():
        vertices = standin(**params).vertices[0].numpy()
    _, depth = Renderer().render([(vertices, standin.faces, (1, 1, 1, 1))], intrinsics, background=dataset.image(index))
    size, side, centre = 256, float(intrinsics.width), (intrinsics.cx, intrinsics.cy)
    mask = crop_square(np.repeat((depth > 0)[..., None] * 255, 3, 2).astype(np.uint8), centre, side, size)
    mask = torch.as_tensor(mask).permute(2, 0, 1)[None].float() / 255
    aug = forced(1, ops, angle=angle, scale=1.1, translate=torch.tensor([[0.05, -0.04]]))
    out_mask, orient, body_pose, matrix = apply(mask, aug, CONFIG, params["global_orient"], params["body_pose"])

    # where the augmented labels put the body: apply the same 3D change to the translation
    flip = torch.diag(torch.tensor([-1.0 if "flip" in ops else 1.0, 1.0, 1.0]))
    a = angle if "rotate" in ops else 0.0
    about_z = torch.tensor([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]], dtype=torch.float32)
    with torch.no_grad():
        pivot = standin(torch.zeros(1, 3), torch.zeros(1, 69), params["betas"]).joints[0, 0]
        transl = (about_z @ flip @ (pivot + params["transl"][0])) - pivot
        moved = standin(orient, body_pose, params["betas"], transl[None]).vertices[0].numpy()
    u = intrinsics.fx * moved[:, 0] / moved[:, 2] + intrinsics.cx
    v = intrinsics.fy * moved[:, 1] / moved[:, 2] + intrinsics.cy
    scale = side / size  # full-image pixels per crop pixel; crop centred on the principal point
    crop_u, crop_v = (u - intrinsics.cx) / scale + size / 2 - 0.5, (v - intrinsics.cy) / scale + size / 2 - 0.5
    norm = np.stack([(2 * crop_u + 1) / size - 1, (2 * crop_v + 1) / size - 1, np.ones_like(u)])
    # the labels already hold flip and rotation; scale and translation move the image only
    only_2d = forced(1, ops & {"scale", "translate"}, scale=1.1, translate=torch.tensor([[0.05, -0.04]]))
    from hmrlib.train.augment import geometric_matrix

    warped = geometric_matrix(only_2d)[0].numpy() @ norm
    px = np.round(((warped[0] + 1) * size - 1) / 2).astype(int)
    py = np.round(((warped[1] + 1) * size - 1) / 2).astype(int)
    visible = (px >= 0) & (px < size) & (py >= 0) & (py < size)
    silhouette = binary_dilation(out_mask[0, 0].numpy() > 0.5)  # one pixel for the silhouette's edge
    hit = silhouette[py[visible], px[visible]]
    assert visible.mean() > 0.9 and hit.mean() > 0.97, hit.mean()
