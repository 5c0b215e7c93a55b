"""What is done to a pretrained model once, at the warm start, before tuning begins.

* ``reset_units`` (Berariu et al. 2021, Fig. 6): the named units take the state of the model
  ``init``, parameters and buffers alike; the other units keep their pretrained state. ``init``
  is a new draw from the initialisation distribution (the paper's re-initialisation,
  ``reset_mode: resample``) or the initialisation the run started from, the one its fresh
  partner starts from (``restore``: resetting every unit is then exactly the fresh start).
* ``shrink_perturb`` (Ash & Adams 2020, Sec. 4): every parameter ``θ`` becomes
  ``λ·θ + σ·θ'``, with ``θ'`` the same parameter of an independent fresh initialisation.
  ``λ = 1, σ = 0`` is the plain warm start; ``λ = 0, σ = 1`` is the fresh model ``θ'``.
  Buffers (BatchNorm statistics) are left as they are.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def reset_units(model: nn.Sequential, init: nn.Sequential, units: list[str]) -> None:
    """Copy the state of each unit in ``units`` from ``init`` into ``model``, in place."""
    names = [n for n, _ in model.named_children()]
    unknown = [u for u in units if u not in names]
    if unknown:
        raise ValueError(f"reset: unknown unit(s) {', '.join(unknown)}; this model's units are {', '.join(names)}")
    for u in units:
        model.get_submodule(u).load_state_dict(init.get_submodule(u).state_dict())


@torch.no_grad()
def shrink_perturb(model: nn.Module, noise: nn.Module, shrink: float, perturb: float) -> None:
    """``θ ← shrink·θ + perturb·θ_noise`` for every parameter, in place."""
    for p, q in zip(model.parameters(), noise.parameters(), strict=True):
        p.mul_(shrink).add_(q, alpha=perturb)
