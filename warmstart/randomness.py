"""Every random stream of the study, in one registry, and stateless generators keyed by them.

A draw is made from ``seeded(*key)``, a generator whose state is a function of its key alone, so
it never depends on what was drawn before (a resumed run draws what an uninterrupted one did, a
seed of a shard what it draws alone). The keys below keep the streams apart; each is a pair of a
run's seeds and a stream constant (or, for data order, the run's ``order_seed``):

* **data order** (``warmstart.train``): epoch ``e`` of a run is shuffled by ``seeded(*order_seed,
  e)``, ``order_seed = [seed, phase]``; the phases: ``PRETRAIN``, ``TUNE``, stage ``i`` of Fig. 4
  ``STAGE + i``, round ``k`` of the chain ``CHAIN + k``. Every tuning run of a seed shares one
  order (the pairing of warm and fresh).
* **augmentation** of a step: ``seeded(*order_seed, e, step, AUGMENT)``.
* **draws at a warm start** (``warmstart.starts``): shrink & perturb's noise, a re-sampled
  reset's units and plasticity injection's new head are fresh initialisations of the model seed
  ``draw_seed(PERTURB | RESAMPLE | INJECT, run)``.
* **unit recycling** during tuning: ReDo ``seeded(*key, REDO, layer)``, continual backprop
  ``seeded(*key, CBP, layer)``.
* **diagnostics**: the seen / unseen example subsets ``seeded(subset_seed, DIAGNOSTIC_SUBSETS, i)``.
* **validation split** of the selection tools: ``seeded(subset_seed, VALIDATION[, 1])``.
* **label noise** of a pretraining subset: ``seeded(subset_seed, LABEL_NOISE)`` (``warmstart.data``).

Seeded by a plain integer instead: a model's initialisation (``torch.manual_seed(init_seed)``,
``warmstart.models``), the nested subsets' and the stages' permutations (``dataset.subset_seed``,
``warmstart.data``), MNIST-1D's generator (``dataset.generator_seed``), and the probe vectors of
the Hessian estimates (``warmstart.diagnostics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

PRETRAIN, TUNE, STAGE, CHAIN = 0, 1, 10, 1000  # the phase, second element of a run's order_seed
AUGMENT = 7
DIAGNOSTIC_SUBSETS = 71
REDO = 83
CBP = 89
VALIDATION = 97
LABEL_NOISE = 101
PERTURB = 1_000_000
RESAMPLE = 2_000_000
INJECT = 3_000_000


def seeded(*key: int) -> torch.Generator:
    """A CPU generator whose state is a function of the non-negative integers ``key`` alone."""
    import torch  # here: the run table's module uses this one's constants, and table jobs do not load torch

    seed = int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)


def draw_seed(stream: int, spec: dict) -> int:
    """The model seed of a fresh draw made at a run's start (shrink & perturb's noise, a re-sampled
    reset): a function of the ``stream``, the run's ``init_seed`` and its ``order_seed``, so that
    every warm start draws its own noise (each round of a chain a new one: its ``order_seed`` names
    the round) and the same run always draws the same."""
    return int(seeded(stream, spec["init_seed"], *spec["order_seed"]).initial_seed() % 2**31)
