"""The paper's networks: backbones, SuperGAT pose head, residual shape head, discriminators."""

from hmrlib.models.backbone import Backbone
from hmrlib.models.discriminator import PoseDiscriminator
from hmrlib.models.generator import Generator, GeneratorOutput, ModelConfig
from hmrlib.models.heads import LinearHead, ResidualShapeHead, SuperGATPoseHead

__all__ = [
    "Backbone",
    "Generator",
    "GeneratorOutput",
    "LinearHead",
    "ModelConfig",
    "PoseDiscriminator",
    "ResidualShapeHead",
    "SuperGATPoseHead",
]
