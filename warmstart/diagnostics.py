"""Diagnostics of a trained network that test the hypothesis of Berariu et al. 2021 directly.

All quantities are measured at fixed parameters on a fixed subset of the training set, with the
model in **eval mode** (BatchNorm normalises with its running statistics), so that the loss is a
fixed function of the parameters and a sum over examples.

* Sharpness: the top eigenvalues of the Hessian of the mean training loss, by the Lanczos
  method with full reorthogonalisation over Hessian-vector products (Pearlmutter 1994; Ghorbani
  et al. 2019), and its trace by Hutchinson's estimator ``E[vᵀHv]`` with Rademacher ``v``
  (Hutchinson 1989), reported with its standard error.
* Gradient noise: ``tr Σ``, the trace of the covariance of per-example gradients, and the simple
  gradient noise scale ``B_simple = tr Σ / |G|²`` (McCandlish et al. 2018, "An empirical model of
  large-batch training", App. A), with ``|G|²`` estimated without bias as ``|ḡ|² - tr Σ / n``.
* Weights: Euclidean norm of all parameters and of each unit's (``weight_norm_<unit>``, per layer
  as Plasticine and Hare & Tortoise report it), distance from the initialisation the run's chain
  started from, and distance from the run's own starting point (the warm-start point).
* Gradient norm: ``‖∇L‖``, the Euclidean norm of the gradient of the mean loss on the examples.
* Dead units: fraction of ReLU units (features of a linear layer, channels of a convolution) whose
  output is zero for at least a fraction ``threshold`` of the examples (for channels: zero at every
  position). Effective rank of the penultimate features: ``exp(H(p))``, ``p`` the singular values
  normalised to sum to 1 (Roy & Vetterli 2007); their stable rank as the plasticity literature
  defines it, ``srank_δ = min{k : Σ_{i≤k} σ_i ≥ (1 − δ) Σ_i σ_i}`` with ``δ = 0.01`` (Kumar et al.
  2021, "Implicit under-parameterization", Eq. 1; Lyle et al. 2022; Plasticine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

Vector = torch.Tensor


def flat_params(model: nn.Module) -> Vector:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def loss_hvp(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> Callable[[Vector], Vector]:
    """``v ↦ H v`` for the Hessian ``H`` of the mean cross-entropy of ``model`` on ``(x, y)``,
    computed on the model's device and returned on ``v``'s (the Lanczos basis stays on the CPU)."""
    params = [p for p in model.parameters() if p.requires_grad]
    model.eval()

    def hvp(v: Vector) -> Vector:
        u = v.to(params[0].device)
        out = torch.zeros_like(u)
        for i in range(0, len(y), batch):
            loss = F.cross_entropy(model(x[i : i + batch]), y[i : i + batch], reduction="sum") / len(y)
            g = torch.autograd.grad(loss, params, create_graph=True)
            gv = torch.cat([t.reshape(-1) for t in g]) @ u
            out += torch.cat([t.reshape(-1) for t in torch.autograd.grad(gv, params)])
        return out.to(v.device)

    return hvp


def lanczos(hvp: Callable[[Vector], Vector], dim: int, k: int, iters: int, seed: int = 0, dtype=torch.float64) -> np.ndarray:
    """The ``k`` largest (algebraic) eigenvalues of a symmetric operator from ``iters`` steps of
    Lanczos with full reorthogonalisation, largest first. Exact when ``iters >= dim``."""
    iters = min(iters, dim)
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(dim, generator=g, dtype=dtype)
    Q = [q / q.norm()]
    alpha, beta = [], []
    for j in range(iters):
        w = hvp(Q[j].float()).to(dtype)
        alpha.append(float(w @ Q[j]))
        basis = torch.stack(Q)
        w = w - basis.T @ (basis @ w)
        w = w - basis.T @ (basis @ w)  # twice is enough (Kahan)
        b = float(w.norm())
        if j == iters - 1 or b < 1e-10:
            break
        beta.append(b)
        Q.append(w / b)
    m = len(alpha)
    T = np.diag(alpha) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    return np.sort(np.linalg.eigvalsh(T))[::-1][:k]


def hutchinson_trace(hvp: Callable[[Vector], Vector], dim: int, samples: int, seed: int = 0) -> tuple[float, float]:
    """Hutchinson's estimate of ``tr H`` from ``samples`` Rademacher probes, and its standard error."""
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(samples):
        v = (torch.randint(0, 2, (dim,), generator=g) * 2 - 1).float()
        values.append(float(v @ hvp(v)))
    values = np.array(values)
    return values.mean(), values.std(ddof=1) / math.sqrt(samples) if samples > 1 else math.nan


def per_example_grad_chunks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 32) -> Iterator[torch.Tensor]:
    """Per-example gradients of the cross-entropy, in eval mode, ``chunk`` examples at a time as
    ``(chunk, d)`` matrices (a ResNet-18's d is 11M: the whole ``(n, d)`` matrix would not fit)."""
    model.eval()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss(p, xi, yi):
        return F.cross_entropy(functional_call(model, (p, buffers), (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per = vmap(grad(loss), in_dims=(None, 0, 0))
    for i in range(0, len(y), chunk):
        g = per(params, x[i : i + chunk], y[i : i + chunk])
        yield torch.cat([g[k].reshape(len(y[i : i + chunk]), -1) for k in params], 1)


def gradient_noise(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 32) -> dict[str, float]:
    """``tr Σ`` of per-example gradients (unbiased sample covariance), ``|G|²`` (unbiased),
    ``|ḡ|²`` and ``B_simple = tr Σ / |G|²`` (McCandlish et al. 2018). Accumulated over chunks in
    float64: ``tr Σ = (Σᵢ |gᵢ|² - n |ḡ|²) / (n - 1)``."""
    total, squares, n = 0.0, 0.0, 0
    for g in per_example_grad_chunks(model, x, y, chunk):
        g = g.double()
        total, squares, n = total + g.sum(0), squares + float((g * g).sum()), n + len(g)
    mean = total / n
    mean2 = float(mean @ mean)
    tr_sigma = (squares - n * mean2) / (n - 1)
    g2 = mean2 - tr_sigma / n
    return {
        "grad_trace_cov": tr_sigma,
        "grad_norm2": g2,
        "grad_mean_norm2": mean2,
        "noise_scale": tr_sigma / g2 if g2 > 0 else math.nan,
    }


def activations(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Outputs of every ``nn.ReLU`` and the input of the last linear layer, in eval mode."""
    model.eval()
    relus, feats, hooks = [], [], []
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            hooks.append(m.register_forward_hook(lambda _m, _i, out: relus.append(out.detach())))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    hooks.append(last.register_forward_hook(lambda _m, inp, _o: feats.append(inp[0].detach())))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return relus, feats[0]


def dead_fraction(relu_outputs: list[torch.Tensor], threshold: float) -> float:
    """Fraction of units that are zero on at least ``threshold`` of the examples; a unit is a
    feature of a ``(n, d)`` output or a channel of a ``(n, c, ...)`` output (zero everywhere)."""
    dead = total = 0
    for a in relu_outputs:
        active = (a.flatten(2).amax(2) if a.dim() > 2 else a) > 0  # (n, units)
        dead += int(((~active).float().mean(0) >= threshold).sum())
        total += active.shape[1]
    return dead / total if total else math.nan


def effective_rank(features: torch.Tensor) -> float:
    """``exp`` of the entropy of the normalised singular values of ``features`` (Roy & Vetterli 2007)."""
    s = torch.linalg.svdvals(features.double())
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(features: torch.Tensor, delta: float = 0.01) -> int:
    """``srank_δ`` of ``features`` ``(n, d)``: the fewest singular values whose sum reaches ``1 − δ``
    of the sum of all of them (Kumar et al. 2021, Eq. 1)."""
    s = torch.linalg.svdvals(features.double())
    if float(s.sum()) == 0:
        return 0
    share = torch.cumsum(s, 0) / s.sum()
    return int((share < 1 - delta).sum()) + 1


def gradient_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    """``‖∇L‖``: the norm of the gradient of the mean cross-entropy over ``(x, y)``, in eval mode."""
    params = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    total = [torch.zeros_like(p) for p in params]
    for i in range(0, len(y), batch):
        loss = F.cross_entropy(model(x[i : i + batch]), y[i : i + batch], reduction="sum") / len(y)
        for t, g in zip(total, torch.autograd.grad(loss, params), strict=True):
            t += g
    return float(torch.cat([t.reshape(-1) for t in total]).double().norm())


def weights(model: nn.Module, init: Vector, start: Vector) -> dict[str, float]:
    """Norm of the parameters, of each unit's parameters (``weight_norm_<unit>``, the model's named
    children), distance from the chain's initialisation and from the run's start."""
    w = flat_params(model)
    units = {f"weight_norm_{n}": float(flat_params(u).norm()) for n, u in model.named_children() if next(u.parameters(), None) is not None}
    return {"weight_norm": float(w.norm()), "dist_init": float((w - init).norm()), "dist_start": float((w - start).norm())} | units


def measure(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, init: Vector, start: Vector, settings: dict, noise: bool
) -> dict[str, float]:
    """Every diagnostic of ``model`` on ``(x, y)``: sharpness (top-k eigenvalues, trace and its
    standard error), weights, gradient norm, dead units, effective and stable rank, and, if
    ``noise``, gradient noise."""
    h = settings["hessian"]
    d = sum(p.numel() for p in model.parameters())
    hvp = loss_hvp(model, x, y)
    out = {f"hessian_eig{i + 1}": float(v) for i, v in enumerate(lanczos(hvp, d, h["top_k"], h["lanczos_iters"]))}
    if h["trace_samples"]:
        out["hessian_trace"], out["hessian_trace_se"] = hutchinson_trace(hvp, d, h["trace_samples"])
    relus, feats = activations(model, x)
    out |= weights(model, init, start) | {
        "dead_units": dead_fraction(relus, settings["dead_threshold"]),
        "effective_rank": effective_rank(feats),
        "stable_rank": stable_rank(feats),
        "grad_norm": gradient_norm(model, x, y),
    }
    if noise:
        out |= gradient_noise(model, x, y)
    return out
