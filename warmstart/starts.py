"""The model a run starts from: a fresh initialisation, or its parent's state with the run's
interventions at the warm start applied (``warmstart.interventions``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from warmstart import interventions
from warmstart.atomic import load_checked
from warmstart.interventions import Start
from warmstart.models import build_model


def fresh_model(spec: dict, meta: dict, seed: int | None = None) -> torch.nn.Module:
    """The run's model freshly initialised from ``seed`` (default, the run's ``init_seed``)."""
    m = spec["model"]
    seed = spec["init_seed"] if seed is None else seed
    return build_model(m["name"], meta["input_shape"], meta["num_classes"], seed, **{k: v for k, v in m.items() if k != "name"})


def initial_model(
    spec: dict, meta: dict, parent: str | None, data: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None, device: str = "cpu"
) -> torch.nn.Module:
    """The model a run starts from, on ``device``: the fresh initialisation of ``init_seed``, or its
    parent's final state (or the state after ``parent_epoch`` epochs), then every intervention at
    the warm start the run carries (``warmstart.interventions.at_warm_start``; ``data()``: the
    run's training data on ``device``, which DASH reads)."""
    model = fresh_model(spec, meta)
    if spec["parent"]:
        saved = load_checked(parent)
        model.load_state_dict(saved["model"] if spec["parent_epoch"] is None else saved["snapshots"][spec["parent_epoch"]])
    return interventions.at_warm_start(spec, model, Start(lambda seed: fresh_model(spec, meta, seed), data), device)
