"""Loading a trained generator from a checkpoint (its configuration travels inside it)."""
from dataclasses import replace

import torch

from hmrlib.body import load_body_model
from hmrlib.models import Generator
from hmrlib.train.checkpoint import CheckpointError, load
from hmrlib.train.config import TrainConfig


def load_generator(path, device=None, body_model=None) -> tuple[Generator, TrainConfig]:
    """(generator in eval mode, its training configuration) from a step_*.pt or best.pt file.

    The body model is the one the checkpoint was trained with unless ``body_model`` says otherwise.
    """
    state = load(path)
    if not isinstance(state, dict) or "generator" not in state or "config" not in state:
        raise CheckpointError(f"{path}: not an hmrlib checkpoint (no generator weights or configuration)")
    config = TrainConfig.from_dict(state["config"])
    body = load_body_model(body_model if body_model is not None else config.data.body_model)
    generator = Generator(replace(config.model, pretrained="none"), body)  # the weights come from the file
    generator.load_state_dict(state["generator"])
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return generator.to(device).eval(), config
