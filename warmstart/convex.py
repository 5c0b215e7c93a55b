"""Training a convex model to its optimum: the control of Ash & Adams' Table 1.

Logistic regression cannot reach 99% training accuracy on MNIST-1D, so the paper's stopping
rule never fires and the accuracy at an epoch cap measures how far the optimiser got, not what
the warm start did to generalisation. ``to_optimum`` finishes a run instead: full-batch L-BFGS
(``torch.optim.LBFGS`` with the strong-Wolfe line search) on the mean cross-entropy of the run's
training data, in float64, until the largest absolute gradient entry is at most ``tol``. The
mean cross-entropy of a linear softmax model is convex, so every start ends at the same minimal
loss and, where the minimiser is unique up to the softmax's shift invariance, at the same
predictions: a warm start can leave no trace there. (On linearly separable data there is no
finite minimiser: the loss falls towards 0 as the weights grow, and the tolerance is met at some
large scale. MNIST-1D's 4,000 training examples are far from separable for a linear model.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from warmstart.train import Stack, evaluate


def gradient_max(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The largest absolute entry of the gradient of the mean cross-entropy over ``(x, y)``."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    g = max(p.grad.abs().max().item() for p in model.parameters())
    model.zero_grad()
    return g


def to_optimum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, tol: float, max_iter: int) -> tuple[bool, float]:
    """Minimise the mean cross-entropy of ``model`` on ``(x, y)`` in place (computed in float64,
    stored back in the model's dtype); return whether the gradient reached ``tol`` and its final
    largest entry."""
    dtype = next(model.parameters()).dtype
    model.double().train(False)
    xd = x.double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, tolerance_grad=tol, tolerance_change=0,
                            history_size=50, line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(xd), y)
        loss.backward()
        return loss

    opt.step(closure)
    g = gradient_max(model, xd, y)
    model.to(dtype)
    return g <= tol, g


def optimum_rows(model: torch.nn.Module, d: dict, x_fit: torch.Tensor, y_fit: torch.Tensor, optimum: dict, epoch: int) -> list[dict]:
    """Train ``model`` to its optimum (``warmstart.convex.to_optimum``) and return its metric rows
    as one more epoch: training data and test set in eval mode, and split ``optimum`` (loss: the
    final largest gradient entry; acc: 1 if it reached the tolerance, else 0)."""
    reached, g = to_optimum(model, x_fit, y_fit, optimum["tol"], optimum["max_iter"])
    stack = Stack([model])
    (fit_loss,), (fit_acc,) = evaluate(stack, x_fit, y_fit)
    (test_loss,), (test_acc,) = evaluate(stack, d["x_test"], d["y_test"])
    rows = [("train", fit_loss, fit_acc), ("train_eval", fit_loss, fit_acc), ("test", test_loss, test_acc), ("optimum", g, float(reached))]
    return [{"epoch": epoch, "split": s, "loss": loss, "acc": acc} for s, loss, acc in rows]
