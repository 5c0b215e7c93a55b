"""ReDo, recycling dormant units (Sokar et al. 2023, ICML, "The dormant neuron phenomenon in
deep reinforcement learning"; Sec. 4).

Every ``every`` steps, on the step's batch, each hidden unit ``i`` of a layer ``ℓ`` gets the score
``s_i = E_x|h_i(x)| / ((1/H_ℓ) Σ_k E_x|h_k(x)|)``, its mean absolute activation over the mean of its
layer (for a convolution, also averaged over positions). A unit with ``s_i ≤ τ`` is τ-dormant and
is recycled: its incoming weights (and bias) are drawn afresh from the initialisation
distribution, its outgoing weights are set to 0 (so the network's function is unchanged on the
spot), and the optimiser's moments of all those weights are reset to 0. Adam's step count is kept
(one per tensor, as in ``torch.optim``).
"""

from __future__ import annotations

import torch

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks, activations, hidden_layers, recycle
from warmstart.randomness import REDO, seeded


def scores(h: torch.Tensor) -> torch.Tensor:
    """The dormancy score of every unit of a layer's activations ``(S, B, H, *spatial)``: ``(S, H)``."""
    a = h.abs().transpose(1, 2).flatten(2).mean(2)  # (S, H): mean over examples and positions
    return a / a.mean(1, keepdim=True).clamp_min(1e-12)


class ReDo(Hooks):
    """Recycle ``tau``-dormant units every ``every`` steps (module docstring)."""

    def __init__(self, tau: float, every: int):
        self.tau, self.every, self.steps, self.layers = tau, every, 0, None
        self.recycled = 0  # units recycled so far, over seeds and layers

    def after_step(self, stack, opt, xb, keys) -> None:
        self.steps += 1
        if self.steps % self.every:
            return
        self.layers = self.layers or hidden_layers(stack.base, "redo")
        for i, (layer, h) in enumerate(zip(self.layers, activations(stack, xb, self.layers), strict=True)):
            mask = scores(h) <= self.tau
            self.recycled += int(mask.sum())
            if mask.any():  # each seed and layer its own generator: a seed's draws never depend on the others'
                recycle(stack, opt, layer, mask, [seeded(*k, REDO, i) for k in keys], bias="init")

    def state_dict(self) -> dict:
        return {"steps": self.steps, "recycled": self.recycled}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.recycled = state["steps"], state["recycled"]


INTERVENTION = Intervention(
    "redo",
    {"tau": {"type": "number", "minimum": 0}, "every": {"type": "integer", "minimum": 1}},
    hooks=lambda settings, inits: ReDo(settings["tau"], settings["every"]),
    models=("mlp", "cnn"),  # Linear/Conv + ReLU units
)
