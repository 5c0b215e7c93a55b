"""What an intervention may do while a shard of seeds tunes (``warmstart.train``), and the
helpers the unit-recycling ones share.

A ``Hooks`` object is called by the training step (``begin`` once before it): ``penalty`` adds a per-seed term to the loss,
``gradient`` may recompute the gradients before the optimiser's update (SAM), ``after_step``
may edit the parameters and the optimiser's state after it (ReDo, continual backprop, an EMA),
``after_epoch`` after an epoch's last step, before it is evaluated (Hare & Tortoise). Every
hook works per seed on the stacked parameters (leading seed dimension), so a seed trains in a
shard exactly as alone; ``select`` keeps the state of the seeds still training, and
``state_dict``/``load_state_dict`` carry it through an exact resume.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from warmstart.optim import Optimizer


class Hooks:
    """The plain training step: every hook does nothing."""

    def begin(self, stack) -> None:
        """Called once with the shard's starting models, before the first step (not on a resume)."""

    def penalty(self, params: dict[str, torch.Tensor]) -> torch.Tensor | float:
        """A per-seed term ``(S,)`` added to each seed's loss."""
        return 0.0

    def gradient(self, params: dict[str, torch.Tensor], closure: Callable[[], object]) -> None:
        """Called with the step's gradients in ``p.grad``; ``closure()`` recomputes them at the
        current parameters."""

    def after_step(self, stack, opt: Optimizer, xb: torch.Tensor, keys: list[tuple[int, ...]]) -> None:
        """Called after the update with the step's inputs ``xb`` and each seed's random key."""

    def after_epoch(self, stack, epoch: int) -> None:
        """Called after the last step of epoch ``epoch`` (from 1), before the epoch is evaluated."""

    def select(self, rows: torch.Tensor) -> None:
        """Keep the state of seeds ``rows`` only."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` gave."""


def per_seed(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``v`` of shape ``(S,)`` or ``(S, H)`` viewed to broadcast against ``like`` ``(S, ...)``."""
    return v.reshape(*v.shape, *[1] * (like.dim() - v.dim()))


@dataclass(frozen=True)
class Layer:
    """A hidden layer of units: the keys of its incoming weight and bias (one ``Linear`` or
    ``Conv``, then ReLU) and of the next layer's weight and bias (its outgoing weights)."""

    unit: str
    weight: str
    bias: str | None
    out_weight: str
    out_bias: str | None


def hidden_layers(model: nn.Sequential, who: str) -> list[Layer]:
    """The hidden layers of a model whose units are each one ``Linear``/``Conv`` layer and a ReLU
    (the MLP and the small CNN), the last unit a head with one ``Linear``. Other models (BatchNorm,
    residual blocks) raise a ``ValueError`` naming ``who``."""
    found = []
    for name, unit in model.named_children():
        layers = [(n, m) for n, m in unit.named_modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
        others = [
            m
            for m in unit.modules()
            if not isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d) and next(m.parameters(recurse=False), None) is not None
        ]
        if len(layers) != 1 or others:
            raise ValueError(f"{who}: unit {name!r} is not one Linear/Conv layer with a ReLU; {who} needs the mlp or cnn model")
        key = f"{name}.{layers[0][0]}"
        found.append((name, key, layers[0][1], isinstance(list(unit.children())[-1], nn.ReLU)))
    if not found[-1][0] == "head" or not all(relu for *_, relu in found[:-1]):
        raise ValueError(f"{who}: every unit but the head must end in a ReLU; {who} needs the mlp or cnn model")
    bias = lambda key, m: f"{key}.bias" if m.bias is not None else None  # noqa: E731
    return [
        Layer(name, f"{key}.weight", bias(key, m), f"{nkey}.weight", bias(nkey, nm))
        for (name, key, m, _), (_, nkey, nm, _) in zip(found, found[1:])
    ]


@torch.no_grad()
def activations(stack, x: torch.Tensor, layers: list[Layer]) -> list[torch.Tensor]:
    """The output (after ReLU) of each of ``layers`` for every seed of ``stack`` on inputs
    ``x`` ``(S, B, ...)``: tensors ``(S, B, H, *spatial)`` (a Linear/Conv + ReLU unit has no
    train/eval difference)."""
    wanted, out, h = {layer.unit for layer in layers}, [], x
    for name, unit in stack.base.named_children():
        p, b = ({k[len(name) + 1 :]: v for k, v in d.items() if k.startswith(name + ".")} for d in (stack.params, stack.buffers))
        h = torch.vmap(lambda p, b, xs, unit=unit: functional_call(unit, (p, b), (xs,)))(p, b, h)
        if name in wanted:
            out.append(h)
    return out


def init_bound(weight: torch.Tensor) -> float:
    """PyTorch's default initialisation of a ``Linear``/``Conv`` weight ``(S, out, in, k...)``
    and its bias is uniform on ``±1/sqrt(fan_in)`` (``kaiming_uniform_`` with ``a = sqrt(5)``)."""
    return 1 / math.sqrt(math.prod(weight.shape[2:]))


def fresh_rows(weight: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    """For each seed, a new draw of every row of ``weight`` ``(S, out, ...)`` from the
    initialisation distribution, from that seed's generator."""
    b = init_bound(weight)
    rows = [torch.empty(weight.shape[1:], dtype=weight.dtype).uniform_(-b, b, generator=g) for g in generators]
    return torch.stack(rows).to(weight.device)


@torch.no_grad()
def recycle(stack, opt: Optimizer, layer: Layer, mask: torch.Tensor, generators: list[torch.Generator], bias: str) -> None:
    """Re-initialise the units ``mask`` ``(S, H)`` of ``layer``: incoming weights drawn afresh,
    the incoming bias drawn afresh (``bias="init"``) or zeroed (``"zero"``), outgoing weights
    zeroed, and the optimiser's state of all these entries zeroed."""
    keys = list(stack.params)
    w, out = stack.params[layer.weight], stack.params[layer.out_weight]
    w.copy_(torch.where(per_seed(mask, w), fresh_rows(w, generators), w))
    col = per_seed(mask, out.transpose(1, 2)).transpose(1, 2)  # (S, 1, H, 1...) over the outgoing weight's input dimension
    out.masked_fill_(col, 0.0)
    if layer.bias is not None:
        b = stack.params[layer.bias]
        if bias == "init":  # per seed from its generator, after its weights
            lim = init_bound(w)
            new = torch.stack([torch.empty(b.shape[1:], dtype=b.dtype).uniform_(-lim, lim, generator=g) for g in generators]).to(b.device)
        else:
            new = torch.zeros_like(b)
        b.copy_(torch.where(mask, new, b))
    for buffers in opt.state.values():
        buffers[keys.index(layer.weight)].masked_fill_(per_seed(mask, w), 0.0)
        buffers[keys.index(layer.out_weight)].masked_fill_(col, 0.0)
        if layer.bias is not None:
            buffers[keys.index(layer.bias)].masked_fill_(mask, 0.0)
