"""Names shared by the command line, the models and the training profiles.

Plain data (and pathlib), so that ``python -m hmrlib --help`` stays fast.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout: notebooks/, data/, runs/

# Table 1's three variants: which backbone, which pose head, and whether the discriminator prior trains with it.
VARIANTS = {
    "resnet50": {"backbone": "resnet50", "pose_head": "linear", "discriminator": False},
    "resnext_supergat": {"backbone": "resnext50", "pose_head": "supergat", "discriminator": False},
    "resnext_supergat_disc": {"backbone": "resnext50", "pose_head": "supergat", "discriminator": True},
}
VARIANT_NAMES = {
    "resnet50": "ResNet-50",
    "resnext_supergat": "ResNeXt-50 + SuperGAT",
    "resnext_supergat_disc": "ResNeXt-50 + SuperGAT + Discriminator",
}
MEAN_PREDICTOR_NAME = "mean pose / mean shape"

# Training profiles (values of hmrlib.train.config.TrainConfig; see hmrlib.train.config.profile).
PROFILES = ("paper", "gpu", "cpu", "cpu-long", "tiny")
