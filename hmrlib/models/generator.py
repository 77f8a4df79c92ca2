"""The generator: image -> backbone -> pose head + shape head -> SMPL parameters.

Table 1's three variants are named in :data:`hmrlib.constants.VARIANTS`:
  resnet50               ResNet-50, plain linear pose and shape regressions
  resnext_supergat       ResNeXt-50, SuperGAT pose head, residual shape MLP
  resnext_supergat_disc  the same generator, trained with the discriminator prior

The generator predicts parameters only; it does not own the body model. The body model is not
trained and is loaded from its own files, while every user of a prediction (the trainer's loss,
evaluation, the viewer, predict) needs a mesh from it anyway — so they hold it and call
``body.mesh(pose, betas, transl)``. The checkpoint then holds network weights only, and DDP does
not broadcast the body model's 40 MB of buffers with them.

With ``ModelConfig.mean_start`` (hmrlib's profiles; like SPIN's ``init_pose``) the heads predict
an offset from a mean pose and shape kept as buffers of the model, which the trainer sets to the
training set's means (:meth:`Generator.set_mean_parameters`). Without it (the authors' network)
the buffers stay at the zero pose and shape and the heads predict the parameters themselves. For
6D heads the offset is added in 6D (to the identity's 6D for the zero pose).
"""

from dataclasses import dataclass

import torch
from torch import nn

from hmrlib.constants import VARIANTS
from hmrlib.errors import ConfigError
from hmrlib.geometry import matrix_to_rotvec, matrix_to_sixd, rotvec_to_matrix
from hmrlib.models.backbone import FEATURE_DIM, MAP_CHANNELS, Backbone
from hmrlib.models.heads import (
    ROTATION_SIZES,
    HeadingBins,
    HeatmapHead,
    JointAlignedInputs,
    LinearHead,
    ResidualShapeHead,
    SuperGATPoseHead,
    rotations_to_pose,
)
from hmrlib.skeleton import NUM_JOINTS


@dataclass
class ModelConfig:
    """The networks' settings. The defaults build the authors' network as their released model
    files do (the ``paper`` profile uses them); :data:`HMRLIB_CHANGES` lists hmrlib's own changes,
    each a named setting here, which the ``cpu``, ``gpu`` and ``tiny`` profiles switch on."""

    variant: str = "resnext_supergat_disc"
    pretrained: str = "if-available"  # 'if-available' | 'required' | 'download' | 'none'
    weights_path: str | None = None
    fine_tune: str = "auto"  # 'auto' | 'all' | 'none' | 'last<k>'
    rotation: str = "axis-angle"  # or '6d'
    node_features: int = 512  # the node encoding's width (hmrlib's: 256)
    node_offset: bool = False  # a learned per-node offset on the encoding (hmrlib's)
    node_dropout: str = "per-node"  # 'per-node' masks (the authors') | 'shared': one mask (hmrlib's)
    gat_heads: int = 4
    gat_channels: int = 64
    gat_layers: int = 3
    gat_dropout: float = 0.25
    gat_norm: bool = False  # LayerNorm before each SuperGAT layer (hmrlib's): bounded attention logits
    gat_leaky_slope: float = 0.01  # PyTorch's default, the authors' (hmrlib's: 0.2)
    gat_negatives: str = "pyg"  # SuperGATConv's own sampling | 'per-graph': fixed count (hmrlib's)
    mirror_links: bool = True
    shape_width: int = 128
    shape_blocks: int = 4
    shape_dropout: float = 0.05
    shape_bn_eps: float = 1e-5  # (hmrlib's: 1e-2, see ResidualShapeHead)
    shape_skip: str = "relu"  # relu(x) + F(x), the authors' code | 'identity': x + F(x), the text's
    num_betas: int = 10
    mean_start: bool = False  # readouts start near zero, added to the training set's mean pose and shape
    baseline_dropout: float = 0.0  # dropout before the ResNet-50 baseline's linear heads (hmrlib's: 0.25)
    disc_noise: str = "per-module"  # the discriminators' adaptive noise (PoseDiscriminator)
    # an auxiliary head of joint heatmaps on the backbone's stride-4 to -16 maps (hmrlib's recipe,
    # for every variant alike; trained by loss.heatmaps): not the authors' network
    joint_heatmaps: bool = False
    # the global orientation as heading bins plus residuals (HeadingBins; hmrlib's, trained by
    # loss.heading); 0: the pose head's own global orientation
    heading_bins: int = 0
    # each SuperGAT node starts from the image at its own joint (JointAlignedInputs; hmrlib's,
    # beyond the paper): needs model.joint_heatmaps and a SuperGAT variant
    joint_nodes: bool = False

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        if self.rotation not in ROTATION_SIZES:
            raise ConfigError(f"rotation must be one of {list(ROTATION_SIZES)}, got {self.rotation!r}")
        choices = {
            "node_dropout": ("per-node", "shared"),
            "gat_negatives": ("pyg", "per-graph"),
            "shape_skip": ("relu", "identity"),
            "disc_noise": ("per-module", "per-discriminator"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"model.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.joint_nodes and not (self.joint_heatmaps and VARIANTS[self.variant]["pose_head"] == "supergat"):
            raise ConfigError(
                "model.joint_nodes places SuperGAT's nodes at the heatmaps' joints: it needs model.joint_heatmaps=true "
                f"and a SuperGAT variant (got joint_heatmaps={self.joint_heatmaps}, variant {self.variant})"
            )
        if self.node_features < self.gat_heads * self.gat_channels:
            raise ConfigError(
                f"model.node_features ({self.node_features}) must be at least gat_heads x gat_channels "
                f"({self.gat_heads * self.gat_channels}): the first layer's skip is that part of the encoding"
            )

    @property
    def uses_discriminator(self) -> bool:
        return VARIANTS[self.variant]["discriminator"]


# hmrlib's changes to the authors' network, made for training from scratch on a CPU; each is a
# setting of ModelConfig (docstrings there and in heads.py say why). Checkpoints written before
# these settings existed were built this way, and load so (TrainConfig.from_dict).
HMRLIB_CHANGES = {
    "node_features": 256,
    "node_offset": True,
    "node_dropout": "shared",
    "gat_norm": True,
    "gat_leaky_slope": 0.2,
    "gat_negatives": "per-graph",
    "shape_bn_eps": 1e-2,
    "shape_skip": "identity",
    "mean_start": True,
    "baseline_dropout": 0.25,
    "disc_noise": "per-discriminator",
}


@dataclass
class GeneratorOutput:
    pose: torch.Tensor  # (B, 72) axis-angle: global orientation, then the 23 body joints
    betas: torch.Tensor  # (B, num_betas)
    attention_loss: torch.Tensor | None  # SuperGAT self-supervision, training mode only
    heatmaps: torch.Tensor | None = None  # (B, 24, S/4, S/4) joint logits with model.joint_heatmaps
    heading_logits: torch.Tensor | None = None  # (B, bins) with model.heading_bins
    heading_orientations: torch.Tensor | None = None  # (B, bins, 3, 3) each bin's global orientation


class Generator(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        spec = VARIANTS[config.variant]
        self.backbone = Backbone(
            spec["backbone"], pretrained=config.pretrained, weights_path=config.weights_path, fine_tune=config.fine_tune
        )
        pose_size = NUM_JOINTS * ROTATION_SIZES[config.rotation]
        if spec["pose_head"] == "supergat":
            self.pose_head = SuperGATPoseHead(
                FEATURE_DIM,
                config.node_features,
                config.gat_heads,
                config.gat_channels,
                config.gat_layers,
                config.gat_dropout,
                config.mirror_links,
                pose_size,
                normalize=config.gat_norm,
                node_offset=config.node_offset,
                node_dropout=config.node_dropout,
                leaky_slope=config.gat_leaky_slope,
                negatives=config.gat_negatives,
                near_zero_readout=config.mean_start,
            )
            self.shape_head = ResidualShapeHead(
                FEATURE_DIM,
                config.shape_width,
                config.shape_blocks,
                config.shape_dropout,
                config.num_betas,
                bn_eps=config.shape_bn_eps,
                skip=config.shape_skip,
                near_zero_output=config.mean_start,
            )
        else:
            dropout, near_zero = config.baseline_dropout, config.mean_start
            self.pose_head = LinearHead(FEATURE_DIM, pose_size, dropout, near_zero)
            self.shape_head = LinearHead(FEATURE_DIM, config.num_betas, dropout, near_zero)
        self.heatmap_head = HeatmapHead(MAP_CHANNELS) if config.joint_heatmaps else None
        self.joint_inputs = JointAlignedInputs(MAP_CHANNELS[1], config.node_features) if config.joint_nodes else None
        self.heading = HeadingBins(FEATURE_DIM, config.heading_bins) if config.heading_bins else None
        self.register_buffer("mean_pose", torch.zeros(3 * NUM_JOINTS))  # (72,) axis-angle
        self.register_buffer("mean_betas", torch.zeros(config.num_betas))

    @torch.no_grad()
    def set_mean_parameters(self, pose: torch.Tensor, betas: torch.Tensor):
        """Start from this pose (72,) and shape (num_betas,): the heads then learn the difference."""
        self.mean_pose.copy_(pose)
        self.mean_betas.copy_(betas)
        if self.heading is not None:
            self.heading.start_from(rotvec_to_matrix(pose[:3].to(self.mean_pose)))

    def mean_pose_in_head_space(self) -> torch.Tensor:
        """(24 * k,) the mean pose as the pose head's raw output would express it."""
        if self.config.rotation == "axis-angle":
            return self.mean_pose
        return matrix_to_sixd(rotvec_to_matrix(self.mean_pose.view(NUM_JOINTS, 3))).flatten()

    def forward(self, images: torch.Tensor) -> GeneratorOutput:
        """images (B, 3, H, W) in [0, 1] -> pose (B, 72), betas (B, num_betas), in training
        mode with a SuperGAT head its attention loss, and with model.joint_heatmaps the heatmaps."""
        maps = None
        if self.heatmap_head is not None:
            features, maps = self.backbone.forward_with_maps(images)
        else:
            features = self.backbone(images)  # (B, 2048); in the autocast dtype under mixed precision
        # The heads run in float32 whatever the autocast: SuperGAT's attention softmax, scatter
        # sums and its self-supervised loss were never meant for float16, and the heads are cheap.
        with torch.autocast(features.device.type, enabled=False):
            features = features.float()
            maps = [m.float() for m in maps] if maps is not None else None
            heatmaps = self.heatmap_head(maps) if maps is not None else None
            if isinstance(self.pose_head, SuperGATPoseHead):
                nodes = self.joint_inputs(heatmaps, maps[1]) if self.joint_inputs is not None else None
                offset, attention_loss = self.pose_head(features, nodes)
            else:
                offset, attention_loss = self.pose_head(features), None
            pose = rotations_to_pose(offset + self.mean_pose_in_head_space(), self.config.rotation)
            betas = self.shape_head(features) + self.mean_betas
            logits = orientations = None
            if self.heading is not None:  # the most likely bin's orientation replaces the head's
                logits, orientations = self.heading(features)
                chosen = orientations[torch.arange(len(logits), device=logits.device), logits.argmax(1)]
                pose = torch.cat([matrix_to_rotvec(chosen), pose[:, 3:]], 1)
        return GeneratorOutput(pose, betas, attention_loss, heatmaps, logits, orientations)
