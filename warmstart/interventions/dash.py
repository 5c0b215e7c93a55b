"""DASH, direction-aware shrinking at the warm start (Shin et al. 2024, NeurIPS; Alg. 1).

Each neuron's incoming weights ``θ_i`` (a row of a linear layer's weight; for a convolution, each
(output, input) kernel, as in the authors' code) are scaled by ``max(λ, cos(θ_i, -g_i))``, where
``g`` is the gradient of the training loss at the warm start and ``cos`` the cosine similarity
(at most 1, so weights never grow). A bias vector is scaled as one, by the cosine of the whole
vector. Directions the new data still pull toward are kept; weights the data do not support
(memorised noise, in the paper's account) shrink toward 0. ``λ`` bounds the shrinking.

Here ``g`` is the gradient of the mean loss over all of the run's training data in eval mode
(BatchNorm with its running statistics), in chunks; the authors' code accumulates an
exponential moving average of minibatch gradients instead. Other parameters (BatchNorm's scale
and shift) are left as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from warmstart.interventions.base import Intervention, Start

SHRUNK = (nn.Linear, nn.Conv1d, nn.Conv2d)


def loss_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 2048) -> dict[str, torch.Tensor]:
    """The gradient of the mean cross-entropy over ``(x, y)`` by parameter name, in eval mode."""
    was = model.training
    model.train(False)
    model.zero_grad()
    for i in range(0, len(y), chunk):
        (F.cross_entropy(model(x[i : i + chunk]), y[i : i + chunk], reduction="sum") / len(y)).backward()
    model.train(was)
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    model.zero_grad()
    return grads


def dash(model: nn.Module, x: torch.Tensor, y: torch.Tensor, shrink: float) -> None:
    """Shrink ``model`` in place by direction (module docstring); ``shrink`` is ``λ``."""
    grads = loss_gradient(model, x, y)
    with torch.no_grad():
        _shrink(model, grads, shrink)


def _shrink(model: nn.Module, grads: dict[str, torch.Tensor], shrink: float) -> None:
    for name, m in model.named_modules():
        if not isinstance(m, SHRUNK):
            continue
        w, g = m.weight, -grads[f"{name}.weight" if name else "weight"]
        rows = w.flatten(2) if w.dim() > 2 else w  # conv: (out, in, k...) -> (out, in, k); linear: (out, in)
        cos = F.cosine_similarity(rows, (g.flatten(2) if w.dim() > 2 else g), dim=-1)
        w.mul_(cos.clamp(min=shrink, max=1.0).reshape(*cos.shape, *[1] * (w.dim() - cos.dim())))
        if m.bias is not None:
            gb = -grads[f"{name}.bias" if name else "bias"]
            m.bias.mul_(F.cosine_similarity(m.bias, gb, dim=0).clamp(min=shrink, max=1.0))


def start(model: nn.Module, spec: dict, ctx: Start) -> None:
    if ctx.data is None:
        raise ValueError("dash: needs the run's training data at the warm start")
    dash(model, *ctx.data(), spec["intervention"]["shrink"])


INTERVENTION = Intervention("dash", {"shrink": {"type": "number", "minimum": 0, "maximum": 1}}, at_start=start, order=30, reads_data=True)
