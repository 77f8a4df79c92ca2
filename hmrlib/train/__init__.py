"""Training: configuration and profiles, checkpoints, the trainer."""
from hmrlib.train.config import PROFILES, DataConfig, OptimConfig, TrainConfig, profile
from hmrlib.train.trainer import Trainer, TrainingDiverged

__all__ = ["DataConfig", "OptimConfig", "PROFILES", "TrainConfig", "Trainer", "TrainingDiverged", "profile"]
