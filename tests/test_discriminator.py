import numpy as np
import pytest
import torch

from hmrlib.data.actions import generate_action
from hmrlib.data.h36m import ACTIONS
from hmrlib.models import PoseDiscriminator
from hmrlib.train.losses import discriminator_loss, generator_adversarial_losses


def real_poses(count, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(count // len(ACTIONS) + 1) / 5.0
    poses = [generate_action(a, t + rng.uniform(0, 100), rng) for a in ACTIONS]
    body = np.concatenate([m.body_pose for m in poses])[:count]
    return torch.as_tensor(np.concatenate([np.zeros((len(body), 3)), body], 1), dtype=torch.float32)


def shuffle_joints(pose, generator):
    joints = pose.view(-1, 24, 3)[:, 1:]
    order = torch.argsort(torch.rand(joints.shape[:2], generator=generator), dim=1)
    shuffled = torch.gather(joints, 1, order[..., None].expand(-1, -1, 3))
    return torch.cat([pose[:, :3], shuffled.flatten(1)], 1)


@pytest.mark.parametrize("levels", ["per-module", "per-discriminator"])
def test_output_shape_and_noise(levels):
    disc = PoseDiscriminator(noise_levels=levels)
    pose = torch.randn(5, 72) * 0.3
    assert disc(pose).shape == (5, 24)
    assert torch.equal(disc(pose), disc(pose))  # no noise while every std is zero
    disc.noise_std.fill_(0.5)
    assert not torch.equal(disc(pose), disc(pose))
    assert torch.equal(disc(pose, noise=False), disc(pose, noise=False))


def test_per_module_noise_reaches_the_full_pose_through_its_own_level():
    """The authors': the per-joint module's level on the matrices, the full-pose module's on its
    736-d input; with only the latter raised, the 23 joint logits stay as they were."""
    disc = PoseDiscriminator(noise_levels="per-module")
    pose = torch.randn(5, 72) * 0.3
    clean = disc(pose, noise=False)
    disc.noise_std[1] = 0.5
    noisy = disc(pose)
    assert torch.equal(noisy[:, :23], clean[:, :23]) and not torch.equal(noisy[:, 23], clean[:, 23])
    sure = torch.full((24,), 0.9)
    sure[-1] = 0.1  # the joints too sure of real poses, the full pose not
    disc.adapt_noise(sure)
    assert torch.allclose(disc.noise_std, torch.tensor([0.002, 0.498]))


def test_noise_rule_moves_the_std_in_the_right_direction():
    disc = PoseDiscriminator(noise_target=0.6, noise_step=0.01, noise_levels="per-discriminator")
    sure = torch.full((8, 24), 3.0)  # sigmoid 0.95 > 0.6: too sure of real poses
    unsure = torch.full((8, 24), -1.0)  # sigmoid 0.27 < 0.6
    disc.adapt_noise(sure.sigmoid().mean(0))
    assert torch.allclose(disc.noise_std, torch.full((24,), 0.01))
    mixed = sure.clone()
    mixed[:, :10] = -1.0
    disc.adapt_noise(mixed.sigmoid().mean(0))
    assert torch.allclose(disc.noise_std[:10], torch.zeros(10)) and torch.allclose(
        disc.noise_std[10:], torch.full((14,), 0.02)
    )
    for _ in range(5):
        disc.adapt_noise(unsure.sigmoid().mean(0))
    assert (disc.noise_std == 0).all()  # clamped at zero


def test_separates_real_from_shuffled_joint_poses():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    train, test = real_poses(3000, 0), real_poses(600, 1)
    disc = PoseDiscriminator()
    optimiser = torch.optim.AdamW(disc.parameters(), lr=1e-3, weight_decay=0.01)
    for _ in range(300):
        real = train[torch.randint(len(train), (64,), generator=generator)]
        fake = shuffle_joints(real, generator)
        loss = discriminator_loss(disc(real), disc(fake))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        real_logits, fake_logits = disc(test), disc(shuffle_joints(test, generator))
    accuracy = 0.5 * ((real_logits > 0).float().mean(0) + (fake_logits < 0).float().mean(0))  # per discriminator
    assert accuracy[-1] > 0.9  # the full-pose discriminator
    # A per-joint discriminator sees one joint: a shuffled-in rotation close to its own range
    # (many joints rest near the identity) is indistinguishable, so only "above chance" holds.
    assert accuracy[:-1].mean() > 0.6 and (accuracy[:-1] > 0.5).all()
    assert (
        generator_adversarial_losses(fake_logits)["disc_full"] > generator_adversarial_losses(real_logits)["disc_full"]
    )
