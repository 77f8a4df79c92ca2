"""Loading a trained model from a checkpoint (its configuration travels inside it)."""

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from hmrlib.body import BodyModel, load_body_model
from hmrlib.models import Generator
from hmrlib.models.discriminator import PoseDiscriminator
from hmrlib.train.checkpoint import CheckpointError, latest, load
from hmrlib.train.config import TrainConfig


@dataclass
class TrainedModel:
    generator: Generator  # in eval mode
    body: BodyModel  # the body model it was trained with (or the one asked for)
    config: TrainConfig  # its training configuration
    discriminator: PoseDiscriminator | None = None  # the learned pose prior, where the variant trains one


def load_trained(path, device=None, body_model=None) -> TrainedModel:
    """The generator of a step_*.pt or best.pt file, with its body model, configuration and
    (for the variant trained with it) its pose discriminator — from the file, or for a best.pt
    written before best.pt held it, from the newest step checkpoint beside it.

    The body model is the one the checkpoint was trained with unless ``body_model`` (a path)
    says otherwise.
    """
    state = load(path)
    if not isinstance(state, dict) or "generator" not in state or "config" not in state:
        raise CheckpointError(f"{path}: not an hmrlib checkpoint (no generator weights or configuration)")
    config = TrainConfig.from_dict(state["config"], source=path)
    generator = Generator(replace(config.model, pretrained="none"))  # the weights come from the file
    generator.load_state_dict(state["generator"])
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    body = load_body_model(body_model if body_model is not None else config.data.body_model, device=device)
    discriminator = None
    weights = state.get("discriminator") or _latest_discriminator(Path(path), config)
    if weights:
        discriminator = PoseDiscriminator(noise_levels=config.model.disc_noise)
        discriminator.load_state_dict(weights)
        discriminator = discriminator.to(device).eval()
    return TrainedModel(generator.to(device).eval(), body, config, discriminator)


def _latest_discriminator(path: Path, config: TrainConfig) -> dict | None:
    """The discriminator's weights from the newest step_*.pt beside ``path`` (None if there is none)."""
    if not config.model.uses_discriminator:
        return None
    steps = latest(path.parent)
    return load(steps).get("discriminator") if steps is not None and steps != path else None
