"""Training: configuration and profiles, checkpoints, the trainer."""

from hmrlib.train.config import DataConfig, OptimConfig, TrainConfig, profile
from hmrlib.train.trainer import Trainer, TrainingDiverged

__all__ = ["DataConfig", "OptimConfig", "TrainConfig", "Trainer", "TrainingDiverged", "profile"]
