"""The training loop: full-data-in-memory minibatch training with exact resume.

Randomness is stateless per epoch: the example order (and augmentation) of epoch ``e`` is drawn
from a generator seeded by ``(order_seed, e)``. Two runs with the same ``order_seed`` therefore see
the same data order (the pairing of warm and fresh tuning), and a run resumed from a checkpoint
taken anywhere, even mid-epoch, continues exactly as if it had never stopped.

Logged per epoch: training loss and accuracy as the running mean over the epoch's minibatches
(in train mode, as they were computed for the updates), and test loss and accuracy from one
evaluation pass in eval mode. Epoch 0 evaluates the initial model on the run's training data and
on the test set.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from warmstart.atomic import load_checked, save_checked
from warmstart.optim import Optimizer

Schedule = Callable[[torch.Generator, int], torch.Tensor]  # (generator, epoch) -> example indices


class Interrupted(Exception):
    """Training stopped on SIGTERM after saving a resume checkpoint."""


def seeded(*key: int) -> torch.Generator:
    """A CPU generator whose state is a function of the non-negative integers ``key`` alone."""
    seed = int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)


def shuffled(indices: torch.Tensor) -> Schedule:
    """Data schedule of ordinary training: each epoch is a random permutation of ``indices``."""
    return lambda g, epoch: indices[torch.randperm(len(indices), generator=g).to(indices.device)]


def smooth_shift(n_full: int, subset: torch.Tensor, gamma: float, epochs: int, batch_size: int) -> Schedule:
    """Data schedule of the smooth shift (Berariu et al. 2021, Fig. 3): at step ``n`` of ``N``
    each example is drawn from the full training set with probability ``p(n) = 1 - gamma**(50 n / N)``
    and otherwise from ``subset``, uniformly with replacement. An epoch has as many steps as one
    pass over the full set."""
    steps = -(-n_full // batch_size)
    total = epochs * steps

    def schedule(g: torch.Generator, epoch: int) -> torch.Tensor:
        n = torch.arange((epoch - 1) * steps, epoch * steps, dtype=torch.float64)
        p = 1 - gamma ** (50 * n / total)
        from_full = torch.rand(steps, batch_size, generator=g, dtype=torch.float64) < p[:, None]
        full = torch.randint(n_full, (steps, batch_size), generator=g)
        sub = subset.cpu()[torch.randint(len(subset), (steps, batch_size), generator=g)]
        return torch.where(from_full, full, sub).flatten()[:n_full].to(subset.device)

    return schedule


def flip_crop(x: torch.Tensor, g: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random horizontal flip and ``pad``-pixel random crop of an image batch, on its device."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=g) < 0.5
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, b), generator=g)).to(x.device)
    xp = F.pad(x, (pad, pad, pad, pad))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    out = xp[
        torch.arange(b, device=x.device)[:, None, None, None], torch.arange(x.shape[1], device=x.device)[None, :, None, None], rows, cols
    ]
    return torch.where(flip.to(x.device)[:, None, None, None], out.flip(3), out)


def autocast(x: torch.Tensor, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``x``'s device when ``bf16``, else a no-op context."""
    return torch.autocast(device_type=x.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2048, bf16: bool = False) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` in eval mode."""
    was_training = model.training
    model.eval()
    loss = correct = 0.0
    for i in range(0, len(y), batch):
        with autocast(x, bf16):
            out = model(x[i : i + batch]).float()
        loss += F.cross_entropy(out, y[i : i + batch], reduction="sum").item()
        correct += (out.argmax(1) == y[i : i + batch]).sum().item()
    model.train(was_training)
    return loss / len(y), correct / len(y)


def train(
    model: nn.Module,
    data: dict,
    schedule: Schedule,
    *,
    optimizer: str,
    lr: float,
    epochs: int,
    batch_size: int,
    order_seed: list[int],
    weight_decay: float = 0.0,
    augment: bool = False,
    eval_indices: torch.Tensor | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    until_train_acc: float | None = None,
    save_epochs: tuple[int, ...] = (),
    bf16: bool = False,
    compile: bool = False,
) -> tuple[list[dict], dict[int, dict]]:
    """Train ``model`` in place for ``epochs`` epochs, or until the epoch's training accuracy
    reaches ``until_train_acc``. Return the metric rows ``{epoch, split, loss, acc}`` and the
    model's state after each epoch in ``save_epochs`` (0 is the initial state).
    ``schedule(g, epoch)`` gives the example indices of one epoch. With ``checkpoint`` set, state
    is saved there every ``checkpoint_every`` epochs and on SIGTERM (then ``Interrupted`` is
    raised), and training resumes from it when it exists. ``bf16`` runs forward and loss under
    bf16 autocast; ``compile`` trains through ``torch.compile(model)`` (same parameters)."""
    x, y = data["x_train"], data["y_train"]
    forward = torch.compile(model) if compile else model
    opt = Optimizer(optimizer, model.parameters(), lr, weight_decay)
    ev = eval_indices if eval_indices is not None else torch.arange(len(y), device=x.device)
    state = {"epoch": 0, "step": 0, "losses": [], "logits": [], "metrics": [], "snapshots": {}, "done": False}
    snapshot = lambda: {k: v.detach().clone() for k, v in model.state_dict().items()}  # noqa: E731
    if checkpoint and Path(checkpoint).exists():
        state = load_checked(checkpoint)
        model.load_state_dict(state.pop("model"))
        opt.load_state_dict(state.pop("optimizer"))
        state["losses"], state["logits"] = [t.to(x.device) for t in state["losses"]], [t.to(x.device) for t in state["logits"]]
    else:
        for split, (xs, ys) in (("train", (x[ev], y[ev])), ("test", (data["x_test"], data["y_test"]))):
            state["metrics"].append(dict(zip(("epoch", "split", "loss", "acc"), (0, split, *evaluate(model, xs, ys, bf16=bf16)))))
        if 0 in save_epochs:
            state["snapshots"][0] = snapshot()

    def save() -> None:
        save_checked(state | {"model": model.state_dict(), "optimizer": opt.state_dict()}, checkpoint)

    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append(1)) if checkpoint else None
    try:
        model.train()
        while state["epoch"] < epochs and not state["done"]:
            e = state["epoch"] + 1
            order = schedule(seeded(*order_seed, e), e).to(x.device)
            for step in range(state["step"], -(-len(order) // batch_size)):
                idx = order[step * batch_size : (step + 1) * batch_size]
                xb, yb = x[idx], y[idx]
                if augment:
                    xb = flip_crop(xb, seeded(*order_seed, e, step + 1, 7))
                with autocast(x, bf16):
                    out = forward(xb)
                    loss = F.cross_entropy(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                state["losses"].append(loss.detach())  # reduced at the epoch's end: no kernel, no sync per step
                state["logits"].append(out.detach().float())
                state["step"] = step + 1
                if stop:
                    save()
                    raise Interrupted(f"SIGTERM at epoch {e}, step {step + 1}: saved {checkpoint}")
            n = len(order)
            sizes = torch.tensor([len(o) for o in state["logits"]], device=x.device, dtype=torch.float32)
            loss_sum = (torch.stack(state["losses"]) @ sizes).item()
            correct = (torch.cat(state["logits"]).argmax(1) == y[order]).sum().item()
            test_loss, test_acc = evaluate(model, data["x_test"], data["y_test"], bf16=bf16)
            state["metrics"] += [
                {"epoch": e, "split": "train", "loss": loss_sum / n, "acc": correct / n},
                {"epoch": e, "split": "test", "loss": test_loss, "acc": test_acc},
            ]
            state.update(epoch=e, step=0, losses=[], logits=[], done=until_train_acc is not None and correct / n >= until_train_acc)
            if e in save_epochs:
                state["snapshots"][e] = snapshot()
            if checkpoint and checkpoint_every and e % checkpoint_every == 0 and e < epochs:
                save()
    finally:
        if checkpoint:
            signal.signal(signal.SIGTERM, previous)
    return state["metrics"], state["snapshots"]
