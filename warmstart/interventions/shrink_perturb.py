"""Shrink & perturb (Ash & Adams 2020, Sec. 4).

Every parameter ``θ`` becomes ``λ·θ + σ·θ'``, with ``θ'`` the same parameter of an independent
fresh initialisation, drawn anew for every warm start (``randomness.PERTURB``). ``λ = 1, σ = 0``
is the plain warm start; ``λ = 0, σ = 1`` is the fresh model ``θ'``. Buffers (BatchNorm
statistics) are left as they are. A run carries it in its fields ``shrink`` and ``perturb``.
"""

from __future__ import annotations

import torch
from torch import nn

from warmstart.interventions.base import Intervention, Start
from warmstart.names import segments
from warmstart.randomness import PERTURB, draw_seed


@torch.no_grad()
def shrink_perturb(model: nn.Module, noise: nn.Module, shrink: float, perturb: float) -> None:
    """``θ ← shrink·θ + perturb·θ_noise`` for every parameter, in place."""
    for p, q in zip(model.parameters(), noise.parameters(), strict=True):
        p.mul_(shrink).add_(q, alpha=perturb)


def start(model: nn.Module, spec: dict, ctx: Start) -> None:
    shrink_perturb(model, ctx.fresh(draw_seed(PERTURB, spec)), spec["shrink"], spec["perturb"])


class ShrinkPerturb(Intervention):
    def fields(self, arm: dict, units: list[str]) -> dict:
        return {"shrink": arm["shrink"], "perturb": arm["perturb"]}

    def applies(self, spec: dict) -> bool:
        return spec["shrink"] is not None

    def path(self, arm: dict, fields: dict) -> str:
        return segments(shrink=arm["shrink"], perturb=arm["perturb"])


SHRINK_PERTURB = ShrinkPerturb(
    "shrink_perturb",
    {"shrink": {"type": "number", "minimum": 0}, "perturb": {"type": "number", "minimum": 0}},
    at_start=start,
    order=20,
    run_fields=("shrink", "perturb"),
)
