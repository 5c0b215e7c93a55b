"""L2 toward the initialisation (Kumar et al. 2023, "Maintaining plasticity in continual learning
via regenerative regularization") and plain L2 as its baseline.

L2 Init adds ``λ·‖θ − θ₀‖²`` to the training loss, where ``θ₀`` are the parameters the network
was initialised with before any training: for a warm start, the initialisation its pretraining
started from, which is also its fresh partner's starting point (``warmstart.runs``). Plain L2
adds ``λ·‖θ‖²`` (the same term with ``θ₀ = 0``; as weight decay, a decay of ``2λ``). Both sum over
every parameter, weights and biases, of one seed; each seed's term is its own.
"""

from __future__ import annotations

import torch

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks


class L2(Hooks):
    """``λ·‖θ − anchor‖²`` per seed; ``anchors`` maps each parameter key to the stacked anchor
    ``(S, ...)``, or is ``None`` for plain L2 (anchor 0)."""

    def __init__(self, strength: float, anchors: dict[str, torch.Tensor] | None = None):
        self.strength, self.anchors = strength, anchors

    def penalty(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        terms = [(p - self.anchors[k] if self.anchors else p).flatten(1).pow(2).sum(1) for k, p in params.items()]
        return self.strength * torch.stack(terms).sum(0)

    def select(self, rows: torch.Tensor) -> None:
        if self.anchors:
            self.anchors = {k: v[rows] for k, v in self.anchors.items()}

    def state_dict(self) -> dict:
        return {"anchors": self.anchors}

    def load_state_dict(self, state: dict) -> None:
        self.anchors = state["anchors"]


def l2_init(settings: dict, inits) -> L2:
    """L2 Init's hooks: each seed anchored to its initial model (``inits()``, before any training)."""
    states = [dict(m.named_parameters()) for m in inits()]
    return L2(settings["strength"], {k: torch.stack([s[k].detach() for s in states]) for k in states[0]})


STRENGTH = {"strength": {"type": "number", "exclusiveMinimum": 0}}
PLAIN = Intervention("l2", STRENGTH, hooks=lambda settings, inits: L2(settings["strength"]))
INIT = Intervention("l2_init", STRENGTH, hooks=l2_init)
