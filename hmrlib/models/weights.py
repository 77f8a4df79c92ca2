"""torchvision's ImageNet weights for the backbones: found in torch hub's cache, or downloaded.

Files live where torchvision keeps them, ``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir()``),
under torchvision's own names, whose part after the dash is the start of the file's SHA-256:
torch's ``download_url_to_file`` checks it, as torchvision does, and keeps nothing that fails.
Offline (no route to the server), the error names the URL and the folder to put the file in.
"""

import re
import urllib.error
from pathlib import Path

import torch

from hmrlib.errors import ConfigError, HmrlibError

DOWNLOAD_ROOT = "https://download.pytorch.org/models/"
# torchvision's names per backbone; the first is the one downloaded: IMAGENET1K_V1, what
# `pretrained=True` gave when the paper was written (the V2 files are found too, if present)
WEIGHT_FILES = {
    "resnet50": ["resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"],
    "resnext50": ["resnext50_32x4d-7cdf4587.pth", "resnext50_32x4d-1a0047aa.pth"],
}
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


class WeightsNotFound(HmrlibError, FileNotFoundError):
    """ImageNet weights that were asked for are not where they should be, nor could be fetched."""


def checkpoints_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_imagenet_weights(architecture: str, weights_path=None) -> Path | None:
    """An explicit ``weights_path`` (which must exist), else the first of torchvision's files
    for ``architecture`` in torch hub's cache, else None."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise WeightsNotFound(f"{path}: ImageNet weights for {architecture} not found")
        return path
    folder = checkpoints_dir()
    return next((folder / name for name in WEIGHT_FILES[architecture] if (folder / name).is_file()), None)


def missing_weights_message(architecture: str) -> str:
    name = WEIGHT_FILES[architecture][0]
    return (
        f"no ImageNet weights for {architecture}: run `python -m hmrlib fetch-weights {architecture}` when online, "
        f"or put {name} ({DOWNLOAD_ROOT}{name}) in {checkpoints_dir()} (torch hub's cache; TORCH_HOME moves it), "
        "or train from scratch knowingly with --pretrained none"
    )


def download_weights(url: str, folder=None, progress: bool = True) -> Path:
    """Download ``url`` into ``folder`` (default: torch hub's cache) under its own file name,
    checking the SHA-256 prefix that the name carries; the file's path. A file already there is
    kept as it is. A wrong file is refused and nothing is left behind; no connection gives one
    line with the URL and where to put the file by hand."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    match = HASH_IN_NAME.search(name)
    if match is None:
        raise WeightsNotFound(f"{url}: the file name carries no hash (torchvision's names are <name>-<sha256>.pth)")
    folder = Path(folder) if folder is not None else checkpoints_dir()
    target = folder / name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(target), hash_prefix=match.group(1), progress=progress)
    except urllib.error.URLError as err:  # HTTPError is one too
        reason = getattr(err, "reason", err)
        raise WeightsNotFound(f"could not download {url} ({reason}): put that file in {folder} by hand") from None
    except RuntimeError as err:  # torch's "invalid hash value": the partial file is already removed
        if "hash" not in str(err):
            raise
        raise WeightsNotFound(f"{url}: the downloaded file is not torchvision's ({err}); nothing was kept") from None
    return target


def fetch_imagenet_weights(architecture: str, base_url: str | None = None, progress: bool = True) -> Path:
    """torchvision's file for ``architecture`` in torch hub's cache, downloaded from ``base_url``
    (default: :data:`DOWNLOAD_ROOT`) if missing."""
    if architecture not in WEIGHT_FILES:
        raise WeightsNotFound(f"no ImageNet weights known for {architecture!r}; known: {', '.join(WEIGHT_FILES)}")
    return find_imagenet_weights(architecture) or download_weights(
        (base_url or DOWNLOAD_ROOT) + WEIGHT_FILES[architecture][0], progress=progress
    )


PRETRAINED_CHOICES = ("if-available", "required", "download", "none")


def resolve_imagenet_weights(architecture: str, pretrained: str, weights_path=None) -> Path | None:
    """The weights file that ``pretrained`` asks for: 'none' -> None; 'if-available' -> found
    or None; 'required' -> found, else WeightsNotFound; 'download' -> found, else downloaded."""
    if pretrained not in PRETRAINED_CHOICES:
        raise ConfigError(f"pretrained must be one of {', '.join(PRETRAINED_CHOICES)}, got {pretrained!r}")
    if pretrained == "none":
        return None
    path = find_imagenet_weights(architecture, weights_path)
    if path is None and pretrained == "download":
        return fetch_imagenet_weights(architecture)
    if path is None and pretrained == "required":
        raise WeightsNotFound(missing_weights_message(architecture))
    return path
