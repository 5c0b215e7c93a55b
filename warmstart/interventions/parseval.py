"""Parseval regularisation (Chung et al. 2024, "Parseval regularization for continual
reinforcement learning"; after Cisse et al. 2017's Parseval networks), during tuning.

Adds ``λ · Σ_ℓ ‖W_ℓ W_ℓᵀ − s·I‖²_F`` to each seed's loss, over every hidden layer ``ℓ`` (each
``Linear`` and ``Conv`` weight outside the ``head`` unit; a convolution's weight as the matrix
``(out, in · kernel)``), which pulls the rows of every weight matrix toward an orthogonal set of
squared norm ``s`` (for a layer with more rows than inputs, where that is impossible, the penalty
has a floor, and its gradient pulls every singular value toward ``√s``): the layer keeps every
direction of its input, the property Chung et al. credit for keeping a network trainable on new
tasks. The output
layer is left free (it maps onto the classes). Biases are not regularised. ``s = 1`` is Parseval's
tight frame; PyTorch's default initialisation gives rows of squared norm about 1/3, so ``s`` is a
setting chosen on the validation split with ``λ``.
"""

from __future__ import annotations

import torch
from torch import nn

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks

REGULARISED = (nn.Linear, nn.Conv1d, nn.Conv2d)


def regularised_weights(model: nn.Module) -> list[str]:
    """The state-dict keys of every ``Linear``/``Conv`` weight of ``model`` outside its ``head``."""
    return [f"{n}.weight" for n, m in model.named_modules() if isinstance(m, REGULARISED) and n.split(".")[0] != "head"]


def parseval_penalty(params: dict[str, torch.Tensor], keys: list[str], scale: float) -> torch.Tensor:
    """``Σ_ℓ ‖W_ℓ W_ℓᵀ − s·I‖²_F`` per seed ``(S,)`` over the stacked weights ``params[keys]``."""
    terms = []
    for k in keys:
        w = params[k].flatten(2)  # (S, out, in · kernel)
        gram = w @ w.transpose(1, 2)
        eye = torch.eye(w.shape[1], dtype=w.dtype, device=w.device)
        terms.append((gram - scale * eye).pow(2).sum((1, 2)))
    return torch.stack(terms).sum(0)


class Parseval(Hooks):
    def __init__(self, strength: float, scale: float, keys: list[str]):
        self.strength, self.scale, self.keys = strength, scale, keys

    def penalty(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.strength * parseval_penalty(params, self.keys, self.scale)


INTERVENTION = Intervention(
    "parseval",
    {"strength": {"type": "number", "exclusiveMinimum": 0}, "scale": {"type": "number", "exclusiveMinimum": 0}},
    hooks=lambda settings, inits: Parseval(settings["strength"], settings["scale"], regularised_weights(inits()[0])),
)
