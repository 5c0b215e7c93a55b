"""The model a run starts from: a fresh initialisation, or its parent's state with the run's
intervention at the warm start applied (``warmstart.interventions``)."""

from __future__ import annotations

import torch

from warmstart.atomic import load_checked
from warmstart.interventions import reset_units, shrink_perturb
from warmstart.models import build_model
from warmstart.randomness import PERTURB, RESAMPLE, draw_seed


def fresh_model(spec: dict, meta: dict, seed: int | None = None) -> torch.nn.Module:
    """The run's model freshly initialised from ``seed`` (default, the run's ``init_seed``)."""
    m = spec["model"]
    seed = spec["init_seed"] if seed is None else seed
    return build_model(m["name"], meta["input_shape"], meta["num_classes"], seed, width=m["width"], depth=m["depth"])


def initial_model(spec: dict, meta: dict, parent: str | None) -> torch.nn.Module:
    """The model a run starts from: the fresh initialisation of ``init_seed``, or its parent's
    final state (or the state after ``parent_epoch`` epochs), then the run's intervention: reset
    units restored to the run's own initialisation (``reset_mode`` restore) or drawn afresh from
    the initialisation distribution (resample, Berariu et al.)."""
    model = fresh_model(spec, meta)
    if spec["parent"]:
        saved = load_checked(parent)
        model.load_state_dict(saved["model"] if spec["parent_epoch"] is None else saved["snapshots"][spec["parent_epoch"]])
    if spec["reset"]:
        seed = draw_seed(RESAMPLE, spec) if spec["reset_mode"] == "resample" else None  # else: its own init
        reset_units(model, fresh_model(spec, meta, seed), spec["reset"])
    if spec["shrink"] is not None:
        shrink_perturb(model, fresh_model(spec, meta, draw_seed(PERTURB, spec)), spec["shrink"], spec["perturb"])
    return model
