"""The optimisers of the study: Adam, plain SGD, SGD with momentum 0.9, RMSprop; constant lr.

The update arithmetic is torch's own: the functional kernels ``torch.optim.adam.adam``,
``torch.optim.sgd.sgd`` and ``torch.optim.rmsprop.rmsprop`` with ``foreach=True`` and
``torch.optim``'s defaults (Adam: betas (0.9, 0.999), eps 1e-8; RMSprop: alpha 0.99, eps 1e-8;
weight decay as L2 added to the gradient), so the results are bit-identical to ``torch.optim``
(``tests/test_optim.py``). Only the state is kept here: constructing a ``torch.optim`` optimiser
imports ``torch._dynamo`` (its methods are wrapped in ``torch._disable_dynamo``), 0.8 s in every
training job, while the functional kernels do not.

Every update is element-wise, so for parameters stacked along a leading *seed* dimension (a shard
of seeds, ``warmstart.train``) each seed's update is exactly its own; ``select`` keeps some seeds.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.adam import adam
from torch.optim.rmsprop import rmsprop
from torch.optim.sgd import sgd

BUFFERS = {"adam": ("exp_avg", "exp_avg_sq"), "sgd": (), "momentum": ("momentum",), "rmsprop": ("square_avg",)}
OPTIMIZERS = tuple(BUFFERS)
BETAS, ALPHA, EPS, MOMENTUM = (0.9, 0.999), 0.99, 1e-8, 0.9


class Optimizer:
    """One of ``OPTIMIZERS`` over ``params``; ``step``, ``zero_grad``, ``select`` and a ``state_dict`` to resume."""

    def __init__(self, name: str, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0):
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
        self.name, self.lr, self.weight_decay = name, lr, weight_decay
        self.params = list(params)
        self.state = {k: [torch.zeros_like(p) for p in self.params] for k in BUFFERS[name]}
        self.steps = [torch.tensor(0.0) for _ in self.params]  # torch.optim's per-parameter step counts

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        params, grads = self.params, [p.grad for p in self.params]
        if any(g is None for g in grads):
            raise ValueError("optimizer: every parameter needs a gradient")
        common = dict(foreach=True, lr=self.lr, weight_decay=self.weight_decay, maximize=False)
        if self.name == "adam":
            (b1, b2), s = BETAS, self.state
            adam(params, grads, s["exp_avg"], s["exp_avg_sq"], [], self.steps, amsgrad=False, beta1=b1, beta2=b2, eps=EPS, **common)
        elif self.name == "rmsprop":
            s = self.state["square_avg"]
            rmsprop(params, grads, s, [], [], self.steps, alpha=ALPHA, eps=EPS, momentum=0.0, centered=False, **common)
        else:
            momentum = MOMENTUM if self.name == "momentum" else 0.0
            buffers = [None] * len(params) if self.steps[0] == 0 else self.state.get("momentum", [None] * len(params))
            sgd(params, grads, buffers, momentum=momentum, dampening=0.0, nesterov=False, **common)  # torch starts the buffer at g
            if momentum:
                self.state["momentum"] = buffers
            torch._foreach_add_(self.steps, 1.0)

    def select(self, rows: torch.Tensor) -> list[torch.Tensor]:
        """Keep only ``rows`` of the leading (seed) dimension of every parameter and state tensor;
        return the new parameters (leaves that require grad), in order."""
        self.params = [p.detach()[rows].requires_grad_() for p in self.params]
        self.state = {k: [t[rows] for t in ts] for k, ts in self.state.items()}
        return self.params

    def state_dict(self) -> dict:
        return {"name": self.name, "steps": self.steps, "state": self.state}

    def load_state_dict(self, saved: dict) -> None:
        if saved.get("name") != self.name:
            raise ValueError(f"optimizer: the saved state is of {saved.get('name')!r}, not {self.name!r}")
        self.steps = [t.clone() for t in saved["steps"]]
        for k, tensors in saved["state"].items():
            for dst, src in zip(self.state[k], tensors, strict=True):
                dst.copy_(src)
