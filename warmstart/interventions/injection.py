"""Plasticity injection (Nikishin et al. 2023, NeurIPS, "Deep reinforcement learning with
plasticity injection"; Sec. 3, Expression 1), at the warm start.

The network is an encoder ``φ`` and a head ``h_θ`` (here the last ``Linear`` of the ``head`` unit).
At the warm start the head's parameters ``θ`` are frozen and two copies of a fresh initialisation
``θ'`` are added, one trained, one frozen (``θ'₀``); the network computes

    ``h_θ(φ(x)) + (h_θ'(φ(x)) − h_θ'₀(φ(x)))``,

which equals the warm network's output exactly at the injection (the bracket is 0), and the
encoder goes on learning. The number of trained parameters is unchanged (``θ'`` replaces ``θ``);
``θ`` and ``θ'₀`` are buffers. ``θ'`` is a fresh draw of the run's model seed
``draw_seed(INJECT, run)``, as a re-sampled reset's. Diagnostics read the trained parameters
(encoder and ``θ'``): "distance from initialisation" compares ``θ'`` with the head's original
initialisation, not with its own draw. A run with it starts from a network of another shape, so
it takes no part in the continual chain (whose rounds start from their parent's state).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from warmstart.interventions.base import Intervention, Start
from warmstart.randomness import INJECT, draw_seed


class Injected(nn.Linear):
    """A ``Linear`` layer after plasticity injection: ``weight``/``bias`` are the trained ``θ'``;
    the buffers ``old_*`` hold the frozen head ``θ``, ``frozen_*`` the frozen copy ``θ'₀``."""

    def __init__(self, old: nn.Linear, new: nn.Linear):
        nn.Module.__init__(self)  # not nn.Linear's: it would draw an initialisation from the global generator
        self.in_features, self.out_features = old.in_features, old.out_features
        self.weight = nn.Parameter(new.weight.detach().clone())
        self.bias = nn.Parameter(new.bias.detach().clone()) if new.bias is not None else None
        self.register_buffer("old_weight", old.weight.detach().clone())
        self.register_buffer("old_bias", old.bias.detach().clone() if old.bias is not None else None)
        self.register_buffer("frozen_weight", new.weight.detach().clone())
        self.register_buffer("frozen_bias", new.bias.detach().clone() if new.bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        change = F.linear(x, self.weight, self.bias) - F.linear(x, self.frozen_weight, self.frozen_bias)
        return F.linear(x, self.old_weight, self.old_bias) + change


def head_index(model: nn.Module) -> int:
    """The position of the ``head`` unit's last module, which must be a ``Linear``."""
    head = model.get_submodule("head")
    if not isinstance(head[-1], nn.Linear):
        raise ValueError("injection: the head unit must end in a Linear layer")
    return len(head) - 1


def inject(model: nn.Module, fresh: nn.Module) -> None:
    """Inject plasticity into ``model``'s head in place, ``θ'`` taken from ``fresh``'s head."""
    i = head_index(model)
    head = model.get_submodule("head")
    head[i] = Injected(head[i], fresh.get_submodule("head")[i])


def start(model: nn.Module, spec: dict, ctx: Start) -> None:
    inject(model, ctx.fresh(draw_seed(INJECT, spec)))


INTERVENTION = Intervention("injection", {}, at_start=start, order=40, shape=lambda model: inject(model, model), chains=False)
