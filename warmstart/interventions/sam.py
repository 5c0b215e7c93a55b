"""Sharpness-aware minimisation (Foret et al. 2021, ICLR; Alg. 1 with p = 2), during tuning.

Each step first computes the gradient ``g`` at ``θ``, moves to ``θ + ε`` with
``ε = ρ·g/‖g‖₂`` (the first-order solution of the inner maximisation of the loss over the ball of
radius ``ρ``), computes the gradient there, returns to ``θ`` exactly (a copy, not a subtraction),
and lets the base optimiser (Adam here) update ``θ`` with that second gradient. ``‖g‖`` is the
norm of one seed's whole gradient; each seed ascends on its own. The second forward pass runs in
train mode too, so BatchNorm's running statistics see both passes (the MLP has none).

SAM seeks flat minima, so it tests Berariu et al.'s hypothesis from the other side: if warm starts
generalise worse because they end in sharp minima, SAM during tuning should shrink the gap.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks, per_seed


def ascent(grads: list[torch.Tensor], rho: float) -> list[torch.Tensor]:
    """``ε = ρ·g/‖g‖₂`` per seed (leading dimension) over all of ``grads``."""
    norm = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    scale = rho / (norm + 1e-12)
    return [g * per_seed(scale, g) for g in grads]


class SAM(Hooks):
    """SAM with radius ``rho`` over the base optimiser."""

    def __init__(self, rho: float):
        self.rho = rho

    def gradient(self, params: dict[str, torch.Tensor], closure: Callable[[], object]) -> None:
        ps = list(params.values())
        with torch.no_grad():
            saved = [p.detach().clone() for p in ps]
            for p, e in zip(ps, ascent([p.grad for p in ps], self.rho), strict=True):
                p.add_(e)
        closure()
        with torch.no_grad():
            for p, s in zip(ps, saved, strict=True):
                p.copy_(s)


INTERVENTION = Intervention("sam", {"rho": {"type": "number", "exclusiveMinimum": 0}}, hooks=lambda settings, inits: SAM(settings["rho"]))
