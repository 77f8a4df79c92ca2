"""Random seeds derived from a run's seed and names, so that every random stream has its own.

``derive_seed(seed, "augment", "rank1")`` is the same on every machine and for every order of
calls, and differs between names; no magic multipliers.
"""

import zlib

import numpy as np


def seed_words(seed: int, *names: str) -> list[int]:
    """[seed, crc32(name), ...]: the entropy for numpy's SeedSequence."""
    return [seed] + [zlib.crc32(name.encode()) for name in names]


def derive_seed(seed: int, *names: str) -> int:
    """A 32-bit seed (valid for torch, numpy and Python alike) for the stream called ``names``."""
    return int(np.random.SeedSequence(seed_words(seed, *names)).generate_state(1)[0])
