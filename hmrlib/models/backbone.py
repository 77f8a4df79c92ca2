"""Image feature extractors: torchvision's ResNet-50 and ResNeXt-50 (32x4d) without the classifier.

Input: images (B, 3, H, W) in [0, 1]; ImageNet normalisation happens here. Output: (B, 2048).
ImageNet weights come from :mod:`hmrlib.models.weights`: an explicit path, then torchvision's
cache (``$TORCH_HOME/hub/checkpoints``), downloaded there only with ``pretrained='download'``.
"""

import warnings

import torch
from torch import nn

from hmrlib.compat import import_torchvision
from hmrlib.errors import ConfigError, HmrlibWarning
from hmrlib.models.weights import checkpoints_dir, resolve_imagenet_weights

# Table 1's backbone names -> torchvision's constructors
ARCHITECTURES = {"resnet50": "resnet50", "resnext50": "resnext50_32x4d"}
FEATURE_DIM = 2048
MAP_CHANNELS = (256, 512, 1024)  # layer1-3 of both backbones: strides 4, 8, 16
_warned_scratch = set()


class Backbone(nn.Module):
    def __init__(
        self,
        architecture: str = "resnext50",
        pretrained: str = "if-available",
        weights_path=None,
        fine_tune: str = "auto",
    ):
        """pretrained: 'if-available' (warn once and train from scratch when no weights are found),
        'required' (fail instead), 'download' (fetch torchvision's file when missing) or 'none'.
        fine_tune: 'all', 'none', 'last<k>' (the last k bottleneck blocks, e.g. 'last2' as in the
        paper), or 'auto' ('last2' with ImageNet weights, 'all' without — freezing random weights
        would stop them from ever learning)."""
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
        torchvision = import_torchvision()
        net = getattr(torchvision.models, ARCHITECTURES[architecture])(weights=None)
        path = resolve_imagenet_weights(architecture, pretrained, weights_path)
        if path is not None:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        elif pretrained == "if-available" and architecture not in _warned_scratch:
            _warned_scratch.add(architecture)
            warnings.warn(
                f"no ImageNet weights for {architecture} in {checkpoints_dir()}: training the backbone from scratch",
                HmrlibWarning,
                stacklevel=2,
            )
        self.architecture, self.pretrained = architecture, path is not None
        net.fc = nn.Identity()
        self.net = net
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.fine_tune = ("last2" if self.pretrained else "all") if fine_tune == "auto" else fine_tune
        self._frozen = self._freeze(self.fine_tune)

    def _freeze(self, fine_tune: str) -> list[nn.Module]:
        blocks = [
            block for layer in (self.net.layer1, self.net.layer2, self.net.layer3, self.net.layer4) for block in layer
        ]
        if fine_tune == "all":
            return []
        if fine_tune == "none":
            trainable = 0
        elif fine_tune.startswith("last") and fine_tune[4:].isdigit() and 0 <= int(fine_tune[4:]) <= len(blocks):
            trainable = int(fine_tune[4:])
        else:
            raise ConfigError(
                f"fine_tune must be 'all', 'none', 'auto' or 'last<k>' with k <= {len(blocks)}, got {fine_tune!r}"
            )
        frozen = [self.net.conv1, self.net.bn1] + blocks[: len(blocks) - trainable]
        for module in frozen:
            module.requires_grad_(False)
        return frozen

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self._frozen:  # frozen layers keep their batch-norm statistics
            module.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net((images - self.mean) / self.std)  # (B, 2048)

    def forward_with_maps(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """(B, 2048) features and the intermediate maps at strides 4, 8 and 16 (256, 512 and 1024
        channels): torchvision's own layers, called in their order, for heads that need space."""
        net = self.net
        x = net.maxpool(net.relu(net.bn1(net.conv1((images - self.mean) / self.std))))
        stride4 = net.layer1(x)
        stride8 = net.layer2(stride4)
        stride16 = net.layer3(stride8)
        features = torch.flatten(net.avgpool(net.layer4(stride16)), 1)
        return features, (stride4, stride8, stride16)
