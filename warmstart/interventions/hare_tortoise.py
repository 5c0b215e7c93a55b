"""Hare & Tortoise (Lee et al. 2024, ICML, "Slow and steady wins the race: maintaining plasticity
with Hare and Tortoise networks"), during tuning.

The network that trains is the *Hare*. The *Tortoise* is an exponential moving average of it,
updated after every optimiser step, ``θ_T ← α·θ_T + (1 − α)·θ_H`` (parameters and floating-point
buffers, such as BatchNorm's running statistics), starting from the warm start itself. After every
``every`` epochs the Hare is reset to the Tortoise, ``θ_H ← θ_T``; the optimiser's state is kept,
as in the authors' code (dojeon-ai/Hare-Tortoise, ``src/trainers/base.py``, which resets after the
epochs whose 0-based index is a multiple of ``every``, the first included; here after epochs
``every, 2·every, ...``). The run's network, its metrics, its stopping rule and its final state are
the Hare's (the authors log both networks' accuracy; the Hare after a reset is the Tortoise). ``α``
is ``ema``. Two more differences from the authors' warm-start runs: there the Tortoise is copied
when training begins and averaged through pretraining and tuning alike; here it is an intervention
at the warm start, so it starts from the pretrained network and averages tuning only (pretraining
is every arm's shared, plain run).
"""

from __future__ import annotations

import torch

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks


class HareTortoise(Hooks):
    """The Tortoise of every seed (stacked like the Hare's parameters), its EMA and the resets."""

    def __init__(self, ema: float, every: int):
        self.ema, self.every, self.slow = ema, every, None

    def _floating(self, stack) -> dict[str, torch.Tensor]:
        return stack.params | {k: v for k, v in stack.buffers.items() if v.is_floating_point()}

    @torch.no_grad()
    def after_step(self, stack, opt, xb, keys) -> None:
        for k, v in self._floating(stack).items():
            self.slow[k].mul_(self.ema).add_(v.detach(), alpha=1 - self.ema)

    @torch.no_grad()
    def after_epoch(self, stack, epoch: int) -> None:
        if epoch % self.every == 0:
            for k, v in self._floating(stack).items():
                v.copy_(self.slow[k])

    def begin(self, stack) -> None:
        self.slow = {k: v.detach().clone() for k, v in self._floating(stack).items()}

    def select(self, rows: torch.Tensor) -> None:
        self.slow = {k: v[rows] for k, v in self.slow.items()}

    def state_dict(self) -> dict:
        return {"slow": self.slow}

    def load_state_dict(self, state: dict) -> None:
        self.slow = state["slow"]


INTERVENTION = Intervention(
    "hare_tortoise",
    {"ema": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, "every": {"type": "integer", "minimum": 1}},
    hooks=lambda settings, inits: HareTortoise(settings["ema"], settings["every"]),
)
