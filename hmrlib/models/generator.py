"""The generator: backbone -> pose head + shape head -> body layer -> mesh in the camera frame.

Table 1's three variants, by name:
  resnet50               ResNet-50, plain linear pose and shape regressions
  resnext_supergat       ResNeXt-50, SuperGAT pose head, residual shape MLP
  resnext_supergat_disc  the same generator, trained with the discriminator prior
"""
from dataclasses import dataclass

import torch
from torch import nn

from hmrlib.models.backbone import FEATURE_DIM, Backbone
from hmrlib.models.heads import LinearHead, ResidualShapeHead, SuperGATPoseHead
from hmrlib.skeleton import NUM_JOINTS

VARIANTS = {
    "resnet50": {"backbone": "resnet50", "pose_head": "linear", "discriminator": False},
    "resnext_supergat": {"backbone": "resnext50", "pose_head": "supergat", "discriminator": False},
    "resnext_supergat_disc": {"backbone": "resnext50", "pose_head": "supergat", "discriminator": True},
}


@dataclass
class ModelConfig:
    variant: str = "resnext_supergat_disc"
    pretrained: str = "if-available"  # 'if-available' | 'required' | 'none'
    weights_path: str | None = None
    fine_tune: str = "auto"  # 'auto' | 'all' | 'none' | 'last<k>'
    rotation: str = "axis-angle"  # or '6d'
    node_features: int = 256
    gat_heads: int = 4
    gat_channels: int = 64
    gat_layers: int = 3
    gat_dropout: float = 0.25
    mirror_links: bool = True
    shape_width: int = 128
    shape_blocks: int = 4
    shape_dropout: float = 0.05
    shape_bn_eps: float = 1e-2  # see ResidualShapeHead
    num_betas: int = 10

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {self.variant!r}")

    @property
    def uses_discriminator(self) -> bool:
        return VARIANTS[self.variant]["discriminator"]


@dataclass
class GeneratorOutput:
    pose: torch.Tensor  # (B, 72) axis-angle: global_orient then body_pose
    betas: torch.Tensor  # (B, num_betas)
    vertices: torch.Tensor | None  # (B, V, 3) camera frame, metres
    joints: torch.Tensor | None  # (B, 24, 3)
    attention_loss: torch.Tensor | None  # SuperGAT self-supervision, training mode only


class Generator(nn.Module):
    def __init__(self, config: ModelConfig, body_model):
        """body_model: a hmrlib BodyModel; it turns parameters into meshes and is not trained,
        nor saved in the state dict (its files are)."""
        super().__init__()
        self.config = config
        spec = VARIANTS[config.variant]
        self.backbone = Backbone(spec["backbone"], pretrained=config.pretrained, weights_path=config.weights_path, fine_tune=config.fine_tune)
        if spec["pose_head"] == "supergat":
            self.pose_head = SuperGATPoseHead(FEATURE_DIM, config.node_features, config.gat_heads, config.gat_channels,
                                              config.gat_layers, config.gat_dropout, config.mirror_links, config.rotation)
            self.shape_head = ResidualShapeHead(FEATURE_DIM, config.shape_width, config.shape_blocks, config.shape_dropout, config.num_betas,
                                                config.shape_bn_eps)
        else:
            self.pose_head = LinearHead(FEATURE_DIM, 3 * NUM_JOINTS)
            self.shape_head = LinearHead(FEATURE_DIM, config.num_betas)
        self.body = body_model.requires_grad_(False)
        self.register_state_dict_post_hook(_drop_body_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_body_keys)

    def predict_parameters(self, images: torch.Tensor):
        """images (B, 3, H, W) in [0, 1] -> (pose (B, 72), betas (B, 10), attention loss or None)."""
        features = self.backbone(images)
        if isinstance(self.pose_head, SuperGATPoseHead):
            pose, attention_loss = self.pose_head(features)
        else:
            pose, attention_loss = self.pose_head(features), None
        return pose, self.shape_head(features), attention_loss

    def forward(self, images: torch.Tensor, transl: torch.Tensor | None = None) -> GeneratorOutput:
        """transl (B, 3): the ground-truth root_loc placing the mesh in the camera frame, as the
        course metric does; without it, no mesh is computed."""
        pose, betas, attention_loss = self.predict_parameters(images)
        vertices = joints = None
        if transl is not None:
            out = self.body(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=betas, transl=transl)
            vertices, joints = out.vertices, out.joints
        return GeneratorOutput(pose, betas, vertices, joints, attention_loss)


def _drop_body_keys(module, state_dict, prefix, local_metadata):
    for key in [k for k in state_dict if k.startswith(prefix + "body.")]:
        del state_dict[key]


def _ignore_missing_body_keys(module, incompatible_keys):
    incompatible_keys.missing_keys[:] = [k for k in incompatible_keys.missing_keys if not k.startswith("body.")]
