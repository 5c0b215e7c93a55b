"""Continual backpropagation (Dohare et al. 2024, Nature, "Loss of plasticity in deep continual
learning"; Methods, and the authors' generate-and-test code).

After every step, for every hidden unit ``i`` of a layer, on the step's batch:

* its age ``a_i`` grows by one;
* its contribution utility ``u_i ← η·u_i + (1 − η)·mean_x|h_i(x)|·Σ_k|w_ki|`` (``w_k·`` its
  outgoing weights), and its mean activation ``f_i ← η·f_i + (1 − η)·mean_x h_i(x)`` (for a
  convolution, also averaged over positions);
* the bias-corrected utility is ``û_i = u_i / (1 − η^a_i)`` (Adam-style, as the paper's code);
* units older than the maturity threshold ``m`` are eligible; the layer accumulates
  ``ρ·(number eligible)`` replacements per step (``ρ`` the replacement rate) and, whenever the
  count reaches one or more, replaces that many eligible units of lowest ``û``: incoming
  weights drawn afresh from the initialisation distribution, incoming bias 0, the mean
  contribution they leave behind moved into the next layer's bias
  (``b_k += Σ_i w_ki·f_i/(1 − η^a_i)``), outgoing weights 0, utility, mean and age 0, and the
  optimiser's state of those weights 0.

Activations are those of the step's batch after its update (one extra forward pass). The
accumulation is deterministic (the authors' ``accumulate`` option), so a seed's replacements do
not depend on a random draw, and ages start at 0 at the warm start.
"""

from __future__ import annotations

import torch

from warmstart.interventions.base import Intervention
from warmstart.interventions.hooks import Hooks, activations, hidden_layers, recycle
from warmstart.randomness import CBP, seeded


class ContinualBackprop(Hooks):
    """Generate-and-test on every hidden layer with replacement rate ``rate``, utility decay
    ``decay`` and maturity threshold ``maturity`` (module docstring)."""

    def __init__(self, rate: float, decay: float, maturity: int):
        self.rate, self.decay, self.maturity = rate, decay, maturity
        self.layers, self.state, self.replaced = None, None, 0

    def after_step(self, stack, opt, xb, keys) -> None:
        self.layers = self.layers or hidden_layers(stack.base, "cbp")
        hs = activations(stack, xb, self.layers)
        if self.state is None:
            zeros = lambda *shape: torch.zeros(*shape, device=xb.device)  # noqa: E731
            self.state = [{k: zeros(h.shape[0], h.shape[2]) for k in ("util", "mean", "age")} | {"owed": zeros(h.shape[0])} for h in hs]
        for i, (layer, h, st) in enumerate(zip(self.layers, hs, self.state, strict=True)):
            st["age"] += 1
            out = stack.params[layer.out_weight].detach()
            weight = out.abs().transpose(1, 2).flatten(2).sum(2)  # (S, H): Σ_k |w_ki| over outgoing weights (and kernel taps)
            act = h.transpose(1, 2).flatten(2)  # (S, H, B·positions)
            st["util"].mul_(self.decay).add_((1 - self.decay) * act.abs().mean(2) * weight)
            st["mean"].mul_(self.decay).add_((1 - self.decay) * act.mean(2))
            correction = 1 - self.decay ** st["age"]
            eligible = st["age"] > self.maturity
            st["owed"] += self.rate * eligible.sum(1)
            n = st["owed"].floor()
            if not n.any():
                continue
            st["owed"] -= n
            mask = torch.zeros_like(eligible)
            utility = torch.where(eligible, st["util"] / correction, torch.inf)
            for s in range(len(mask)):
                mask[s, utility[s].topk(int(n[s]), largest=False).indices] = True
            if layer.out_bias is not None:  # the mean contribution of the replaced units moves into the next bias
                moved = torch.where(mask, st["mean"] / correction, 0.0)
                taps = out.reshape(*out.shape[:3], -1)  # (S, out, H, kernel taps)
                stack.params[layer.out_bias].detach().add_(torch.einsum("sohk,sh->so", taps, moved))
            recycle(stack, opt, layer, mask, [seeded(*k, CBP, i) for k in keys], bias="zero")  # per seed and layer
            for k in ("util", "mean", "age"):
                st[k].masked_fill_(mask, 0.0)
            self.replaced += int(mask.sum())

    def select(self, rows: torch.Tensor) -> None:
        if self.state is not None:
            self.state = [{k: v[rows] for k, v in st.items()} for st in self.state]

    def state_dict(self) -> dict:
        return {"state": self.state, "replaced": self.replaced}

    def load_state_dict(self, state: dict) -> None:
        self.state, self.replaced = state["state"], state["replaced"]


INTERVENTION = Intervention(
    "cbp",
    {
        "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "decay": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "maturity": {"type": "integer", "minimum": 0},
    },
    hooks=lambda settings, inits: ContinualBackprop(settings["rate"], settings["decay"], settings["maturity"]),
    models=("mlp", "cnn"),  # Linear/Conv + ReLU units
)
