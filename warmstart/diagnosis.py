"""Diagnose a finished run from its saved snapshots: the measurements of ``warmstart.diagnostics``
on training examples the warm start was pretrained on (*seen*) and on the rest (*unseen*)."""

from __future__ import annotations

import torch

from warmstart import data as datasets
from warmstart import interventions
from warmstart.atomic import load_checked
from warmstart.diagnostics import flat_params, measure
from warmstart.randomness import DIAGNOSTIC_SUBSETS, seeded
from warmstart.starts import fresh_model


def measurement_settings(config: dict) -> dict:
    """The study's ``diagnostics`` section less what says which runs, when and in how many jobs:
    what a measurement depends on (``subset``, ``subset_seed``, ``hessian``, ``dead_threshold``)."""
    return {
        k: v for k, v in config.get("diagnostics", {}).items() if k not in ("enabled", "seeds", "epochs", "noise_epochs", "runs_per_job")
    }


def diagnostic_subsets(n: int, seen: torch.Tensor, size: int, seed: int) -> dict[str, torch.Tensor]:
    """``size`` training examples drawn at random from the pretraining subset ``seen`` (examples the
    warm start was pretrained on) and as many from the rest of the training set (``unseen`` by
    it), each from its own generator, independent of the permutation the nested subsets are cut
    from (drawing from that permutation gave the first examples of the 25% subset, all seen)."""
    mask = torch.zeros(n, dtype=torch.bool)
    mask[seen.cpu()] = True
    pools = {"seen": mask.nonzero().flatten(), "unseen": (~mask).nonzero().flatten()}
    return {
        half: pool[torch.randperm(len(pool), generator=seeded(seed, DIAGNOSTIC_SUBSETS, i))[:size]]
        for i, (half, pool) in enumerate(pools.items())
    }


def diagnose(
    spec: dict,
    d: dict,
    model_file: str,
    seen: torch.Tensor,
    settings: dict,
    epochs: list[int],
    noise_epochs: list[int],
    device: str = "cpu",
) -> list[dict]:
    """Diagnostics (``warmstart.diagnostics.measure``) of run ``spec`` at each of ``epochs``, from
    its saved snapshots (its final state for its last epoch), on ``settings["subset"]`` random
    training examples of each half (``diagnostic_subsets``; ``seen`` holds the pretraining subset's
    indices) of the data ``d`` (``warmstart.data.load``); rows ``{run, epoch, half, quantity,
    value}``; epochs after the run stopped are skipped. The run's start is its epoch-0 snapshot
    (its initialisation if it has none)."""
    subsets = diagnostic_subsets(len(d["y_train"]), seen, settings["subset"], settings["subset_seed"])
    model = fresh_model(spec, d["meta"]).to(device)
    init = flat_params(model)
    model = interventions.shaped(spec, model)  # the network the run trained (plasticity injection's head)
    saved = load_checked(model_file)
    # the end (labelled with the run's epoch cap) is its final state, also when its stopping rule
    # ended it earlier; grid epochs after such a stop have no snapshot and are skipped
    states = saved["snapshots"] | {spec["epochs"]: saved["model"]}
    epochs = [e for e in epochs if e in states]
    if 0 in states:
        model.load_state_dict(states[0])
    start = flat_params(model)
    rows = []
    for e in epochs:
        model.load_state_dict(states[e])
        for half, idx in subsets.items():
            x, y = d["x_train"][idx.to(device)], d["y_train"][idx.to(device)]
            for q, v in measure(model, x, y, init, start, settings, noise=e in noise_epochs).items():
                rows.append({"run": spec["id"], "epoch": e, "half": half, "quantity": q, "value": v})
    return rows


def diagnose_batch(jobs: list[dict], data: str, settings: dict, device: str = "cpu") -> list[dict]:
    """``diagnose`` for each of ``jobs`` (``{spec, model, seen, epochs, noise_epochs}``: the run, its
    ``model.pt``, the index file of its pretraining subset, its epochs), the data file ``data``
    loaded once: one process for many runs. Each run's rows are those it gets alone."""
    d = datasets.load(data, device)
    rows = []
    for j in jobs:
        seen = torch.load(j["seen"], weights_only=True)
        rows += diagnose(j["spec"], d, j["model"], seen, settings, j["epochs"], j["noise_epochs"], device)
    return rows
