"""The training loop: a *shard* of seeds trained together as one stacked model, with exact resume.

A shard is S runs that differ only in their seed. Their models (one architecture) are stacked
along a leading dimension with ``torch.func.stack_module_state`` and trained as one with
``torch.func.functional_call`` under ``torch.vmap``: linear layers become batched matrix
products, convolutions grouped convolutions, and BatchNorm keeps per-seed running statistics
(the stacked buffers are updated in place, each seed's slice by its own batch). The loss is the
sum over seeds of each seed's mean loss, so each seed's gradient is its own, and every optimiser
update is element-wise (``warmstart.optim``): each seed trains as it would alone, up to
floating-point rounding (``tests/test_shards.py`` states the tolerance). Each seed has its own data
order, its own early stop (a finished seed leaves the stack, so it stops changing while the others
go on) and its own snapshots.

Randomness is stateless per epoch: the example order (and augmentation) of epoch ``e`` is drawn
from a generator seeded by ``(order_seed, e)``. Two runs with the same ``order_seed`` therefore see
the same data order (the pairing of warm and fresh tuning), and a run resumed from a checkpoint
taken anywhere, even mid-epoch, continues exactly as if it had never stopped.

Logged per epoch: training loss and accuracy as the running mean over the epoch's minibatches
(in train mode, as they were computed for the updates); in eval mode, the run's training data
(under a stopping rule) and the test set, at every epoch for a run whose curves are drawn, else
only where the epoch can be read: an accuracy on the training data below the stopping threshold is
censored (``screen`` stops counting once it cannot reach it), and the test set is evaluated where
the run fits and in its last epochs before the cap. Epoch 0 evaluates the initial model on the
run's training data and on the test set.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state

from warmstart.atomic import load_checked, save_checked
from warmstart.errors import Interrupted
from warmstart.interventions.hooks import Hooks
from warmstart.optim import Optimizer
from warmstart.randomness import AUGMENT, seeded

Schedule = Callable[[torch.Generator, int], torch.Tensor]  # (generator, epoch) -> example indices


def shuffled(indices: torch.Tensor) -> Schedule:
    """Data schedule of ordinary training: each epoch is a random permutation of ``indices``."""
    return lambda g, epoch: indices[torch.randperm(len(indices), generator=g).to(indices.device)]


def smooth_shift(n_full: int, subset: torch.Tensor, gamma: float, epochs: int, batch_size: int) -> Schedule:
    """Data schedule of the smooth shift (Berariu et al. 2021, Fig. 3): at step ``n`` of ``N``
    (``epochs`` epochs) each example is drawn from the full training set with probability
    ``p(n) = 1 - gamma**(50 n / N)`` and otherwise from ``subset``, uniformly with replacement. An
    epoch has as many steps as one pass over the full set. After the ``epochs`` epochs of the drift,
    each epoch is a random permutation of the full set, as ordinary training on it."""
    steps = -(-n_full // batch_size)
    total = epochs * steps

    def schedule(g: torch.Generator, epoch: int) -> torch.Tensor:
        if epoch > epochs:  # the drift has ended: the full set, as the fresh arm sees it
            return torch.randperm(n_full, generator=g).to(subset.device)
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


def shift_scale_noise(x: torch.Tensor, g: torch.Generator, shift: int, scale: float, noise: float) -> torch.Tensor:
    """MNIST-1D's own kinds of variation as augmentation of a signal batch ``(B, C, L)``: each
    example shifted circularly by an integer drawn uniformly from ``[−shift, shift]``, its amplitude
    multiplied by ``1 + u``, ``u`` uniform on ``[−scale, scale]``, and Gaussian noise of standard
    deviation ``noise`` added (Greydanus 2020 builds MNIST-1D from shifts, scaling and noise)."""
    b, _, n = x.shape
    s = torch.randint(-shift, shift + 1, (b,), generator=g)
    a = 1 + (2 * torch.rand(b, generator=g) - 1) * scale
    eps = torch.randn(x.shape, generator=g) * noise
    idx = (torch.arange(n)[None, :] - s[:, None]) % n  # out[..., i] = x[..., i - s]
    rolled = torch.gather(x, 2, idx[:, None, :].expand(-1, x.shape[1], -1).to(x.device))
    return rolled * a.to(x.device)[:, None, None] + eps.to(x.device)


def augmentation(augment: bool | dict) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """The augmentation a run's ``augment`` field names: ``True``, flip and crop (images); a dict
    ``{shift, scale, noise}``, ``shift_scale_noise`` (signals); ``False``, none."""
    if not augment:
        return None
    return flip_crop if augment is True else functools.partial(shift_scale_noise, **augment)


def autocast(x: torch.Tensor, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``x``'s device when ``bf16``, else a no-op context."""
    return torch.autocast(device_type=x.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


class Stack:
    """Models of one architecture as one: ``params`` and ``buffers`` map each ``state_dict`` key
    to a tensor with a leading seed dimension. ``forward(x)`` takes inputs ``(S, B, ...)``, or
    ``(B, ...)`` shared by every seed, and gives logits ``(S, B, classes)``."""

    def __init__(self, models: list[nn.Module]):
        params, self.buffers = stack_module_state(models)
        self.params = {k: v.detach().requires_grad_() for k, v in params.items()}
        self.keys = list(models[0].state_dict())
        self.base = copy.deepcopy(models[0]).to("meta")

    def __len__(self) -> int:
        return len(next(iter(self.buffers.values() or self.params.values())))

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        call = lambda p, b, xs: functional_call(self.base, (p, b), (xs,))  # noqa: E731
        if len(self) == 1:  # one seed: no vmap (its dispatch costs 1.6x on a small MLP); slices are views
            one = lambda d: {k: v[0] for k, v in d.items()}  # noqa: E731
            return call(one(self.params), one(self.buffers), x if shared else x[0]).unsqueeze(0)
        return torch.vmap(call, in_dims=(0, 0, None if shared else 0))(self.params, self.buffers, x)

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def part(self, rows: list[int]) -> Stack:
        """The seeds ``rows`` (stack positions) as a stack of their own, for evaluation (copies)."""
        out = copy.copy(self)
        out.params, out.buffers = ({k: v[rows] for k, v in d.items()} for d in (self.params, self.buffers))
        return out

    def state(self, i: int) -> dict[str, torch.Tensor]:
        """Seed ``i``'s ``state_dict`` (copies)."""
        both = self.params | self.buffers
        return {k: both[k][i].detach().clone() for k in self.keys}

    def select(self, rows: torch.Tensor, params: list[torch.Tensor]) -> None:
        """Keep seeds ``rows``, with ``params`` (the optimiser's selected parameters) in key order."""
        self.params = dict(zip(self.params, params, strict=True))
        self.buffers = {k: v[rows] for k, v in self.buffers.items()}


def per_example_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits ``(S, B, classes)`` against labels ``(S, B)``, per seed and example.
    Classes go in dimension 1, where ``F.cross_entropy``'s CPU kernel is 3.7x faster than on
    ``(S·B, classes)`` rows (measured at S = 16, B = 128, 10 classes)."""
    return F.cross_entropy(logits.transpose(1, 2), y, reduction="none")


@torch.no_grad()
def evaluate(stack: Stack, x: torch.Tensor, y: torch.Tensor, batch: int = 2048, bf16: bool = False,
             rows: list[int] | None = None) -> tuple[list[float], list[float]]:  # fmt: skip
    """Mean cross-entropy and accuracy in eval mode on ``(x, y)`` of every seed of ``stack``, or of
    the seeds ``rows`` (stack positions) only."""
    stack.train(False)
    part = stack if rows is None or rows == list(range(len(stack))) else stack.part(rows)
    loss = correct = 0.0
    for i in range(0, len(y), batch):
        yb = y[i : i + batch]
        with autocast(x, bf16):
            out = part.forward(x[i : i + batch], shared=True).float()
        loss = loss + per_example_loss(out, yb.expand(len(out), -1)).sum(1)
        correct = correct + (out.argmax(-1) == yb).sum(1)
    stack.train(True)
    return (loss / len(y)).tolist(), (correct / len(y)).tolist()


SCREEN_CHUNK = 512  # examples per chunk of ``screen``: its seeds can leave after each


@torch.no_grad()
def screen(stack: Stack, x: torch.Tensor, y: torch.Tensor, threshold: float, full: list[bool], batch: int | None = None,
           bf16: bool = False) -> list[tuple[float, float] | None]:  # fmt: skip
    """Per seed of ``stack``, its eval-mode ``(loss, accuracy)`` on ``(x, y)``, or ``None`` when its
    accuracy is below ``threshold``: seeds are evaluated in chunks of ``batch`` examples, and a seed
    leaves as soon as its errors so far leave no accuracy at ``threshold`` possible, unless ``full``
    names it. The decision is exact: a seed that stays is evaluated on every example and its
    accuracy computed as ``evaluate`` computes it (``correct / n`` in float32; its loss is summed in
    another order, equal to about 1e-7); given the same logits (batch-invariant kernels: a seed's
    logits do not depend on the chunk or on which seeds are evaluated with it, verified on this
    CPU for the MLP, the CNN and the ResNet, not on a GPU), its accuracy is the same; one that leaves has at most
    ``n - errors`` correct, and ``(n - errors) / n`` is already below ``threshold``. ``batch``: default
    ``SCREEN_CHUNK``. What is lost is
    the value of an accuracy below the threshold (censored; ``warmstart.protocol``)."""
    n, alive, batch = len(y), list(range(len(stack))), batch or SCREEN_CHUNK
    stack.train(False)
    part, loss, correct = stack, torch.zeros(len(stack), device=x.device), torch.zeros(len(stack), device=x.device)
    for i in range(0, n, batch):
        yb = y[i : i + batch]
        with autocast(x, bf16):
            out = part.forward(x[i : i + batch], shared=True).float()
        rows = torch.tensor(alive, device=x.device)
        loss[rows] += per_example_loss(out, yb.expand(len(out), -1)).sum(1)
        correct[rows] += (out.argmax(-1) == yb).sum(1).float()
        best = ((n - ((i + len(yb)) - correct)) / n).tolist()  # the highest accuracy still possible (one sync per chunk)
        left = [j for j in alive if full[j] or best[j] >= threshold]
        if not left:
            alive = left
            break
        if left != alive:  # the remaining seeds' parameters, sliced once per change
            alive, part = left, stack.part(left)
    stack.train(True)
    acc = (correct / n).tolist()
    losses = (loss / n).tolist()
    return [(losses[j], acc[j]) if j in alive else None for j in range(len(stack))]


@dataclass
class Progress:
    """Where a shard's training stands; all of it goes into the resume checkpoint. ``epoch``: the
    last finished epoch; ``step``: the next step of the current one, whose per-step ``losses`` and
    ``logits`` are kept until its end; ``active``: the seeds still training (indices into the
    shard, in stack order); ``done``: the final states of those that stopped; ``streak``: each
    seed's consecutive epochs at the stopping accuracy; ``metrics`` and ``snapshots``: per seed."""

    metrics: list[list[dict]]
    snapshots: list[dict[int, dict]]
    active: list[int]
    epoch: int = 0
    step: int = 0
    losses: list[torch.Tensor] = field(default_factory=list)
    logits: list[torch.Tensor] = field(default_factory=list)
    done: dict[int, dict] = field(default_factory=dict)
    streak: dict[int, int] = field(default_factory=dict)

    def log(self, i: int, epoch: int, split: str, loss: float, acc: float) -> None:
        self.metrics[i].append({"epoch": epoch, "split": split, "loss": loss, "acc": acc})


@dataclass(frozen=True)
class StopRule:
    """Stop a seed after ``consecutive`` consecutive epochs after epoch ``after`` whose accuracy on
    its training data, in eval mode, reached ``train_acc`` (``None``: train to the epoch cap)."""

    train_acc: float | None = None
    consecutive: int = 1
    after: int = 0

    def fitted(self, acc: float, epoch: int) -> bool:
        return self.train_acc is not None and acc >= self.train_acc and epoch > self.after


def train(
    models: list[nn.Module],
    data: dict,
    schedule: Schedule,
    *,
    optimizer: str,
    lr: float,
    epochs: int,
    batch_size: int,
    order_seeds: list[list[int]],
    weight_decay: float = 0.0,
    augment: bool | dict = False,
    eval_indices: torch.Tensor | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    stop_train_acc: float | None = None,
    stop_consecutive: int = 1,
    stop_from: int = 0,
    save_epochs: tuple[int, ...] = (),
    bf16: bool = False,
    compile: bool = False,
    hooks: Hooks | None = None,
    curves: bool | list[bool] = True,
) -> list[tuple[list[dict], dict[int, dict]]]:
    """Train a shard: ``models[i]`` for ``epochs`` epochs on ``schedule`` (``schedule(g, epoch)``
    gives the example indices of one epoch, ``g`` seeded by ``order_seeds[i]`` and the epoch), or,
    with ``stop_train_acc``, until ``stop_consecutive`` consecutive epochs after epoch ``stop_from``
    (the end of a drifting data schedule) whose accuracy on its training data (``eval_indices``) in
    eval mode reached it (split ``train_eval``; ``epochs`` is then a cap). ``curves`` (per model, or
    one for all): its training-data and test accuracy are evaluated at every epoch (a figure draws
    them); otherwise only where they can be read (``end_epoch``: the epochs at which it fits, and the
    last ``stop_consecutive`` before the cap, or the last without a rule), exactly the read-out a
    full evaluation gives. Each model ends in its final state, in place. Return per model its metric rows ``{epoch, split,
    loss, acc}`` and its state after each epoch in ``save_epochs`` (0 is the initial state). With
    ``checkpoint`` set, the shard's state is saved there every ``checkpoint_every`` epochs and on
    SIGTERM (then ``Interrupted`` is raised), and training resumes from it when it exists. ``bf16``
    runs forward and loss under bf16 autocast; ``augment`` names the augmentation (``augmentation``);
    ``compile`` trains through ``torch.compile`` of the forward. ``hooks`` (``warmstart.interventions``)
    is what an intervention does during training: a penalty on each seed's loss, a changed
    gradient (SAM), an edit after each update or epoch."""
    x, y = data["x_train"], data["y_train"]
    stack, hooks, rule = Stack(models), hooks or Hooks(), StopRule(stop_train_acc, stop_consecutive, stop_from)
    forward = torch.compile(stack.forward) if compile else stack.forward
    aug = augmentation(augment)
    drawn = [curves] * len(models) if isinstance(curves, bool) else curves
    last = epochs - (rule.consecutive if rule.train_acc is not None else 1)  # after it, the epochs a cap makes read
    read = lambda i, e: drawn[i] or e > last  # noqa: E731  (epoch e of seed i known in full)
    ev = eval_indices if eval_indices is not None else torch.arange(len(y), device=x.device)
    fit = (x[ev], y[ev])  # the run's training data, evaluated in eval mode at epoch 0 and by the stopping rule
    if checkpoint and Path(checkpoint).exists():
        p, saved = resume(checkpoint, stack, x.device)
        opt = Optimizer(optimizer, stack.params.values(), lr, weight_decay)
        opt.load_state_dict(saved["optimizer"])
        hooks.load_state_dict(saved["hooks"])
    else:
        opt = Optimizer(optimizer, stack.params.values(), lr, weight_decay)
        p = start(stack, fit, data, save_epochs, bf16)
        hooks.begin(stack)

    def save() -> None:
        tensors = {"params": stack.params, "buffers": stack.buffers, "optimizer": opt.state_dict(), "hooks": hooks.state_dict()}
        save_checked(vars(p) | tensors, checkpoint)

    def closure(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(x, bf16):
            out = forward(xb)
            loss = per_example_loss(out, yb).mean(1)
        opt.zero_grad()
        (loss + hooks.penalty(stack.params)).sum().backward()  # each seed's gradient is its own
        return out, loss

    sigterm = []
    previous = signal.signal(signal.SIGTERM, lambda *_: sigterm.append(1)) if checkpoint else None
    try:
        stack.train(True)
        while p.epoch < epochs and p.active:
            e = p.epoch + 1
            orders = torch.stack([schedule(seeded(*order_seeds[i], e), e) for i in p.active]).to(x.device)  # (seeds, n)
            for step in range(p.step, -(-orders.shape[1] // batch_size)):
                idx = orders[:, step * batch_size : (step + 1) * batch_size]
                xb, yb = x[idx], y[idx]
                if aug:
                    xb = torch.stack([aug(xb[j], seeded(*order_seeds[i], e, step + 1, AUGMENT)) for j, i in enumerate(p.active)])
                out, loss = closure(xb, yb)
                hooks.gradient(stack.params, functools.partial(closure, xb, yb))
                opt.step()
                hooks.after_step(stack, opt, xb, [(*order_seeds[i], e, step + 1) for i in p.active])
                p.losses.append(loss.detach())  # reduced at the epoch's end: no kernel, no sync per step
                p.logits.append(out.detach().float())
                p.step = step + 1
                if sigterm:
                    save()
                    raise Interrupted(f"SIGTERM at epoch {e}, step {step + 1}: saved {checkpoint}")
            hooks.after_epoch(stack, e)
            end_epoch(p, stack, e, y[orders], data, fit, rule, save_epochs, bf16, read)
            retire(p, stack, opt, hooks, rule)
            if checkpoint and checkpoint_every and e % checkpoint_every == 0 and e < epochs:
                save()
    finally:
        if checkpoint:
            signal.signal(signal.SIGTERM, previous)
    finals = p.done | {i: stack.state(j) for j, i in enumerate(p.active)}
    for i, model in enumerate(models):
        model.load_state_dict(finals[i])
    return list(zip(p.metrics, p.snapshots, strict=True))


def start(stack: Stack, fit: tuple, data: dict, save_epochs: tuple[int, ...], bf16: bool) -> Progress:
    """A shard's progress at epoch 0: every seed evaluated (eval mode) on its training data
    (``fit``) and the test set, and its initial state kept when 0 is in ``save_epochs``."""
    p = Progress(metrics=[[] for _ in range(len(stack))], snapshots=[{} for _ in range(len(stack))], active=list(range(len(stack))))
    for split, (xs, ys) in (("train", fit), ("test", (data["x_test"], data["y_test"]))):
        for i, row in enumerate(zip(*evaluate(stack, xs, ys, bf16=bf16))):
            p.log(i, 0, split, *row)
    if 0 in save_epochs:
        for i in p.active:
            p.snapshots[i][0] = stack.state(i)
    return p


def resume(checkpoint: str | Path, stack: Stack, device: torch.device) -> tuple[Progress, dict]:
    """The progress saved in ``checkpoint``, with the stack's state restored, and the saved state
    of the optimiser and the hooks (``{"optimizer": ..., "hooks": ...}``)."""
    state = load_checked(checkpoint)
    stack.params = {k: v.to(device).requires_grad_() for k, v in state.pop("params").items()}
    stack.buffers = {k: v.to(device) for k, v in state.pop("buffers").items()}
    saved = {"optimizer": state.pop("optimizer"), "hooks": state.pop("hooks", {})}
    state["losses"], state["logits"] = [t.to(device) for t in state["losses"]], [t.to(device) for t in state["logits"]]
    known = {f.name for f in fields(Progress)}  # a checkpoint of an earlier version may hold more (its "reached")
    return Progress(**{k: v for k, v in state.items() if k in known}), saved


def end_epoch(p: Progress, stack: Stack, e: int, targets: torch.Tensor, data: dict, fit: tuple, rule: StopRule,
              save_epochs: tuple[int, ...], bf16: bool, read: Callable[[int, int], bool]) -> None:  # fmt: skip
    """Log epoch ``e`` of every active seed: training loss and accuracy as the mean over its steps
    (``targets``: the labels in each seed's order); with a stopping rule, its eval-mode accuracy on
    its training data (split ``train_eval``), which extends or breaks its streak; and the test set
    where the epoch may be read. ``read(i, e)`` says whether epoch ``e`` of seed ``i`` must be known
    in full whatever its fit (a drawn run; the last epochs before the cap); otherwise a fit below
    the threshold is censored (``screen``: no ``train_eval`` row) and the test set is evaluated only
    where the seed fits (only there can its streak, and so its read-out, end). Keep the snapshot of
    a ``save_epochs`` epoch."""
    n = targets.shape[1]
    sizes = torch.tensor([o.shape[1] for o in p.logits], device=targets.device, dtype=p.losses[0].dtype)
    train_loss = (torch.stack(p.losses, 1) @ sizes / n).tolist()
    train_acc = ((torch.cat(p.logits, 1).argmax(-1) == targets).sum(1) / n).tolist()
    known = [read(i, e) for i in p.active]
    fits = screen(stack, *fit, rule.train_acc, known, bf16=bf16) if rule.train_acc is not None else [None] * len(p.active)
    tested = [j for j in range(len(p.active)) if known[j] or (fits[j] is not None and rule.fitted(fits[j][1], e))]
    test = dict(zip(tested, zip(*evaluate(stack, data["x_test"], data["y_test"], bf16=bf16, rows=tested)))) if tested else {}
    for j, i in enumerate(p.active):
        p.log(i, e, "train", train_loss[j], train_acc[j])
        if j in test:
            p.log(i, e, "test", *test[j])
        if rule.train_acc is not None:
            if fits[j] is not None:
                p.log(i, e, "train_eval", *fits[j])
            p.streak[i] = p.streak.get(i, 0) + 1 if fits[j] is not None and rule.fitted(fits[j][1], e) else 0
        if e in save_epochs:
            p.snapshots[i][e] = stack.state(j)
    p.epoch, p.step, p.losses, p.logits = e, 0, [], []


def retire(p: Progress, stack: Stack, opt: Optimizer, hooks: Hooks, rule: StopRule) -> None:
    """Seeds whose streak reached the rule leave the stack (and the optimiser's and hooks' state)
    with their final state kept, so they stop changing while the others go on."""
    finished = [j for j, i in enumerate(p.active) if p.streak.get(i, 0) >= rule.consecutive]
    if not finished:
        return
    p.done |= {p.active[j]: stack.state(j) for j in finished}
    device = next(iter(stack.params.values())).device
    rows = torch.tensor([j for j in range(len(p.active)) if j not in finished], dtype=torch.long, device=device)
    stack.select(rows, opt.select(rows))
    hooks.select(rows)
    p.active = [p.active[j] for j in rows.tolist()]
