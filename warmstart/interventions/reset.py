"""Resetting units after pretraining (Berariu et al. 2021, Fig. 6).

The named units take the state of the model ``init``, parameters and buffers alike; the other
units keep their pretrained state. ``init`` is a new draw from the initialisation distribution
(the paper's re-initialisation, mode ``resample``) or the initialisation the run started from,
the one its fresh partner starts from (``restore``: resetting every unit is then exactly the
fresh start, a built-in check). An arm names the first unit reset (every later one is reset
too) or ``all``. A run carries it in its fields ``reset`` (the units) and ``reset_mode``.
"""

from __future__ import annotations

import torch
from torch import nn

from warmstart.interventions.base import Intervention, Start
from warmstart.names import segment
from warmstart.randomness import RESAMPLE, draw_seed


@torch.no_grad()
def reset_units(model: nn.Sequential, init: nn.Sequential, units: list[str]) -> None:
    """Copy the state of each unit in ``units`` from ``init`` into ``model``, in place."""
    names = [n for n, _ in model.named_children()]
    unknown = [u for u in units if u not in names]
    if unknown:
        raise ValueError(f"reset: unknown unit(s) {', '.join(unknown)}; this model's units are {', '.join(names)}")
    for u in units:
        model.get_submodule(u).load_state_dict(init.get_submodule(u).state_dict())


def reset_path(units: str, mode: str) -> str:
    """The id segment of a warm run with ``units`` (joined by ``+``) reset; restored runs keep their first ids."""
    return segment("reset", units) + ("" if mode == "restore" else f"-{mode}")


def start(model: nn.Module, spec: dict, ctx: Start) -> None:
    seed = draw_seed(RESAMPLE, spec) if spec["reset_mode"] == "resample" else None  # else: its own init
    reset_units(model, ctx.fresh(seed), spec["reset"])


class Reset(Intervention):
    def fields(self, arm: dict, units: list[str]) -> dict:
        return {"reset": units if arm["units"] == "all" else units[units.index(arm["units"]) :], "reset_mode": arm["mode"]}

    def applies(self, spec: dict) -> bool:
        return bool(spec["reset"])

    def path(self, arm: dict, fields: dict) -> str:
        return reset_path("+".join(fields["reset"]), arm["mode"])

    def label(self, arm: dict) -> str:
        return f"reset_{arm['units']}_{arm['mode']}"

    def identity(self, arm: dict) -> bool:
        return arm["units"] == "all" and arm["mode"] == "restore"

    def check(self, arm: dict, units: list[str]) -> str | None:
        return None if arm["units"] in [*units, "all"] else f"units: {arm['units']!r} must be all or one of {', '.join(units)}"


RESET = Reset(
    "reset",
    {"units": {"type": "string"}, "mode": {"enum": ["resample", "restore"]}},
    at_start=start,
    order=10,
    run_fields=("reset", "reset_mode"),
)
