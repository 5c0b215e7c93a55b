"""What every intervention is: its name, its settings, and what it does to a warm start.

An intervention is an ``Intervention`` object at the top level of a module of this package (the
registry, ``warmstart.interventions``, finds it there). It declares:

* ``name`` and ``settings``: the JSON schema of each of its settings (an arm of the arena is
  ``{name, <settings>}``; the config is checked against these, never a copy of them);
* what it does, either or both of ``at_start(model, spec, ctx)`` (once, to the model a warm run
  starts from, before tuning: resets, shrink & perturb, DASH; ``order`` ranks those) and
  ``hooks(settings, inits)`` (a ``Hooks`` object acting while the run tunes: L2, SAM, ReDo, ...);
* how a warm run carries it: ``fields(arm, units)``, the run fields it sets (by default
  ``{"intervention": arm}``; resets and shrink & perturb keep run fields of their own, which the
  reset and shrink & perturb experiments share; ``run_fields`` names them), ``applies(spec)``
  reading them back, its ``path`` in the run id and its ``label`` in tables;
* ``variant``: for an architectural arm (LayerNorm, CReLU), the model settings of its network
  (``warmstart.models``); it changes no warm start: the arena trains that network's own pretraining,
  warm and fresh runs, and the run's model carries it;
* ``shape(model)``: for one that changes the network (plasticity injection), the same change with
  any values, so that the run's saved states load into a model built for it; ``chains``: whether
  it may take part in the continual chain (not one that changes the network);
* ``identity(arm)``: whether the arm is the fresh start by construction (a check, not a claim);
  ``models``: the models it applies to (``None``: every one); ``reads_data``: its ``at_start``
  reads the run's training data (DASH), so it acts on the training device; the others act on the
  CPU, where the model is built, before it moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from warmstart.interventions.hooks import Hooks
from warmstart.names import segment


@dataclass(frozen=True)
class Start:
    """What an intervention at the warm start may use: ``fresh(seed)`` builds the run's model
    freshly initialised from ``seed`` (``None``: the run's own ``init_seed``), on the CPU;
    ``data()`` gives the run's training data ``(x, y)`` on the training device (``None`` where a
    caller has none), built only when an intervention asks."""

    fresh: Callable[[int | None], nn.Module]
    data: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None


@dataclass(frozen=True)
class Intervention:
    name: str
    settings: dict[str, dict]
    at_start: Callable[[nn.Module, dict, Start], None] | None = None
    hooks: Callable[[dict, Callable[[], list[nn.Module]]], Hooks] | None = None
    order: int = 100
    models: tuple[str, ...] | None = None
    reads_data: bool = False  # its ``at_start`` reads the run's data: it acts on the training device, the others on the CPU
    run_fields: tuple[str, ...] = ("intervention",)  # the run fields ``fields`` sets
    shape: Callable[[nn.Module], None] | None = None  # the network it makes, for loading a run's states
    chains: bool = True  # may take part in the continual chain
    variant: dict | None = None  # an architectural arm's model settings: a network of its own

    def __post_init__(self) -> None:
        if self.variant is not None:  # its runs are its network's: no run field of its own
            object.__setattr__(self, "run_fields", ())

    def fields(self, arm: dict, units: list[str]) -> dict:
        """The run fields of a warm run with ``arm`` (``units``: the model's unit names)."""
        return {} if self.variant is not None else {"intervention": dict(arm)}

    def applies(self, spec: dict) -> bool:
        """Whether run ``spec`` has this intervention."""
        if self.variant is not None:
            return all(spec["model"].get(k) == v for k, v in self.variant.items())
        return (spec["intervention"] or {}).get("name") == self.name

    def path(self, arm: dict, fields: dict) -> str:
        """The run id's segment of a warm run with ``arm`` (``fields``: its run fields)."""
        return "-".join([self.name] + [segment(k, v) for k, v in arm.items() if k != "name"])

    def label(self, arm: dict) -> str:
        """The arm's name in tables and figures."""
        return self.name

    def identity(self, arm: dict) -> bool:
        return False

    def check(self, arm: dict, units: list[str]) -> str | None:
        """What is wrong with ``arm`` beyond its settings' schema (``None``: nothing)."""
        return None
