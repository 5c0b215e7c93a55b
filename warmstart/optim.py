"""The optimisers of the study: Adam, plain SGD, SGD with momentum 0.9, RMSprop; constant lr.

The arithmetic is that of ``torch.optim`` with its defaults and ``foreach=True`` (Adam: betas
(0.9, 0.999), eps 1e-8; RMSprop: alpha 0.99, eps 1e-8; weight decay as L2 added to the gradient),
op for op; the results are bit-identical to it and to its per-tensor CPU default
(``tests/test_optim.py``). They are written out here because constructing any ``torch.optim``
optimiser imports ``torch._dynamo`` (its methods are wrapped in ``torch._disable_dynamo``), which
takes 0.8 s in every training job: as long as a default run's whole training.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

BUFFERS = {"adam": ("exp_avg", "exp_avg_sq"), "sgd": (), "momentum": ("momentum",), "rmsprop": ("square_avg",)}
OPTIMIZERS = tuple(BUFFERS)
BETAS, ALPHA, EPS, MOMENTUM = (0.9, 0.999), 0.99, 1e-8, 0.9


class Optimizer:
    """One of ``OPTIMIZERS`` over ``params``; ``step``, ``zero_grad`` and a ``state_dict`` to resume."""

    def __init__(self, name: str, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0):
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
        self.name, self.lr, self.weight_decay = name, lr, weight_decay
        self.params = list(params)
        self.steps = 0
        self.state = {k: [torch.zeros_like(p) for p in self.params] for k in BUFFERS[name]}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        params, grads = self.params, [p.grad for p in self.params]
        if any(g is None for g in grads):
            raise ValueError("optimizer: every parameter needs a gradient")
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        self.steps += 1
        if self.name == "adam":
            (b1, b2), m, v = BETAS, self.state["exp_avg"], self.state["exp_avg_sq"]
            torch._foreach_lerp_(m, grads, 1 - b1)
            torch._foreach_mul_(v, b2)
            torch._foreach_addcmul_(v, grads, grads, 1 - b2)
            step = float(self.steps)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, (1 - b2**step) ** 0.5)
            torch._foreach_add_(denom, EPS)
            torch._foreach_addcdiv_(params, m, denom, (self.lr / (1 - b1**step)) * -1)
        elif self.name == "rmsprop":
            v = self.state["square_avg"]
            torch._foreach_mul_(v, ALPHA)
            torch._foreach_addcmul_(v, grads, grads, value=1 - ALPHA)
            denom = torch._foreach_sqrt(v)
            torch._foreach_add_(denom, EPS)
            torch._foreach_addcdiv_(params, grads, denom, value=-self.lr)
        else:
            if self.name == "momentum":  # torch starts the buffer at the first gradient: 0 * 0.9 + g
                torch._foreach_mul_(self.state["momentum"], MOMENTUM)
                torch._foreach_add_(self.state["momentum"], grads)
                grads = self.state["momentum"]
            torch._foreach_add_(params, grads, alpha=-self.lr)

    def state_dict(self) -> dict:
        return {"name": self.name, "steps": self.steps, "state": self.state}

    def load_state_dict(self, saved: dict) -> None:
        if saved.get("name") != self.name:
            raise ValueError(f"optimizer: the saved state is of {saved.get('name')!r}, not {self.name!r}")
        self.steps = saved["steps"]
        for k, tensors in saved["state"].items():
            for dst, src in zip(self.state[k], tensors, strict=True):
                dst.copy_(src)
