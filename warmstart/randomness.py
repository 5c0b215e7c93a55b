"""Stateless randomness: a generator per key, so that every draw is a function of its key alone."""

from __future__ import annotations

import numpy as np
import torch


def seeded(*key: int) -> torch.Generator:
    """A CPU generator whose state is a function of the non-negative integers ``key`` alone."""
    seed = int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)
