"""Interventions on a warm start: what is done once at the warm start (``at_start``: resets,
shrink & perturb; ``dash``) and what acts during tuning (``hooks``: L2 and L2 Init, SAM, ReDo,
continual backprop). A run names its intervention in its ``intervention`` field
(``{"name": ..., <its settings>}``); ``during`` builds the training hooks for a shard of such
runs and ``at_warm_start`` applies the one-shot ones.

Adding an intervention: one module here (its definition and source in the docstring), its entry
in ``SETTINGS`` and in ``during`` or ``at_warm_start``, one test of its defining property, and its
grid and chosen setting in the ``arena`` section of the config.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from warmstart.interventions.at_start import reset_units, shrink_perturb
from warmstart.interventions.cbp import ContinualBackprop
from warmstart.interventions.dash import dash
from warmstart.interventions.hooks import Hooks
from warmstart.interventions.l2 import L2
from warmstart.interventions.redo import ReDo
from warmstart.interventions.sam import SAM

# each intervention's settings, in the order of its run id
SETTINGS: dict[str, tuple[str, ...]] = {
    "l2": ("strength",),
    "l2_init": ("strength",),
    "dash": ("shrink",),
    "sam": ("rho",),
    "redo": ("tau", "every"),
    "cbp": ("rate", "decay", "maturity"),
}

__all__ = ["SETTINGS", "Hooks", "at_warm_start", "during", "reset_units", "shrink_perturb"]


def check(spec: dict) -> None:
    """A clear error for an intervention that is unknown or misses or adds a setting."""
    name = spec.get("name")
    if name not in SETTINGS:
        raise ValueError(f"intervention: unknown intervention {name!r}; expected one of {', '.join(SETTINGS)}")
    if set(spec) - {"name"} != set(SETTINGS[name]):
        raise ValueError(f"intervention {name}: settings {sorted(set(spec) - {'name'})}; expected {list(SETTINGS[name])}")


def during(spec: dict | None, inits: Callable[[], list[nn.Module]]) -> Hooks:
    """The training hooks of a shard whose runs have intervention ``spec`` (``None``: none);
    ``inits()`` gives the runs' initial models before any training (L2 Init's anchors)."""
    if spec is None:
        return Hooks()
    check(spec)
    name = spec["name"]
    if name == "l2":
        return L2(spec["strength"])
    if name == "l2_init":
        states = [dict(m.named_parameters()) for m in inits()]
        return L2(spec["strength"], {k: torch.stack([s[k].detach() for s in states]) for k in states[0]})
    if name == "sam":
        return SAM(spec["rho"])
    if name == "redo":
        return ReDo(spec["tau"], spec["every"])
    if name == "cbp":
        return ContinualBackprop(spec["rate"], spec["decay"], spec["maturity"])
    return Hooks()  # one-shot: at_warm_start


def at_warm_start(spec: dict | None, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """Apply a one-shot intervention (DASH) to ``model`` in place, with the run's training data."""
    if spec is not None and spec["name"] == "dash":
        check(spec)
        dash(model, x, y, spec["shrink"])
