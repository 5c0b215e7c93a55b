"""The registry of interventions on a warm start, one module each (``base`` says what a module
defines): what is done once at the warm start (resets, shrink & perturb, DASH) and what acts
during tuning (L2 and L2 Init, SAM, ReDo, continual backprop), all through one path.

``REGISTRY`` holds every ``Intervention`` found in this package's modules. An arena arm is
``{name, <settings>}``; ``check`` holds it to its intervention's settings; ``warm_run``, ``fields``,
``label`` and ``identity`` say what run it is. For a run, ``at_warm_start`` applies every
intervention at its start that the run carries, ``during`` builds the hooks of its tuning.

Adding an intervention: one module here with its definition and source in the docstring and an
``Intervention`` object, a test of its defining property, and its grid and chosen setting in the
``arena`` section of the config.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import jsonschema
from torch import nn

from warmstart.interventions.base import Intervention, Start
from warmstart.interventions.hooks import Hooks


def discover() -> dict[str, Intervention]:
    """Every ``Intervention`` at the top level of a module of this package, by name (a name taken
    twice is an error)."""
    found: dict[str, Intervention] = {}
    for m in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{m.name}")
        for iv in {id(v): v for v in vars(module).values() if isinstance(v, Intervention)}.values():
            if iv.name in found:
                raise ValueError(f"interventions: two interventions are named {iv.name!r}")
            found[iv.name] = iv
    return dict(sorted(found.items()))


REGISTRY: dict[str, Intervention] = discover()
FIELDS = {f for iv in REGISTRY.values() for f in iv.run_fields}  # the run fields any intervention sets

__all__ = ["FIELDS", "REGISTRY", "Hooks", "Start", "at_warm_start", "check", "during", "label", "shaped"]


def check(arm: dict, units: list[str], model: str) -> str | None:
    """What is wrong with arena arm ``arm`` for a model ``model`` with ``units`` (``None``:
    nothing): an unknown intervention, a missing, extra or invalid setting, a model it does not
    apply to. The message starts with the arm's offending key."""
    name = arm.get("name")
    if name not in REGISTRY:
        return f"name: unknown intervention {name!r}; expected one of {', '.join(REGISTRY)}"
    iv = REGISTRY[name]
    schema = {"type": "object", "additionalProperties": False, "required": ["name", *iv.settings],
              "properties": {"name": {"const": name}} | iv.settings}  # fmt: skip
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(arm))
    if error is not None:
        if error.validator == "additionalProperties":
            extra = sorted(set(arm) - {"name", *iv.settings})[0]
            return f"{extra}: {name} has no setting {extra!r}; its settings: {', '.join(iv.settings)}"
        if error.validator == "required":
            missing = [k for k in iv.settings if k not in arm][0]
            return f"{missing}: a required setting of {name} (its settings: {', '.join(iv.settings)})"
        key = error.absolute_path[0] if error.absolute_path else "name"
        return f"{key}: {error.message}"
    if iv.models is not None and model not in iv.models:
        return f"name: {name} applies to the models {', '.join(iv.models)} only, not {model}"
    return iv.check(arm, units)


def fields(arm: dict, units: list[str]) -> dict:
    return REGISTRY[arm["name"]].fields(arm, units)


def warm_run(arm: dict, units: list[str]) -> tuple[str, dict]:
    """A warm run with ``arm``: its run id's segment and its run fields."""
    iv = REGISTRY[arm["name"]]
    f = iv.fields(arm, units)
    return iv.path(arm, f), f


def label(arm: dict) -> str:
    return REGISTRY[arm["name"]].label(arm)


def identity(arm: dict) -> bool:
    return REGISTRY[arm["name"]].identity(arm)


def at_warm_start(spec: dict, model: nn.Module, ctx: Start, device: str = "cpu") -> nn.Module:
    """Apply, in their ``order``, the interventions at the warm start that run ``spec`` carries to
    ``model`` (built on the CPU): those that read the run's data on ``device``, the others before it
    moves there. Return the model, on ``device``."""
    for iv in sorted(REGISTRY.values(), key=lambda iv: iv.order):
        if iv.at_start is not None and iv.applies(spec):
            model = model.to(device) if iv.reads_data else model
            iv.at_start(model, spec, ctx)
    return model.to(device)


def shaped(spec: dict, model: nn.Module) -> nn.Module:
    """``model`` (a fresh one of run ``spec``) in the shape of the network the run trains, into which
    its saved states load: every intervention it carries that changes the network applied (with any values)."""
    for iv in REGISTRY.values():
        if iv.shape is not None and iv.applies(spec):
            iv.shape(model)
    return model


def during(arm: dict | None, inits: Callable[[], list[nn.Module]]) -> Hooks:
    """The training hooks of a shard whose runs have intervention ``arm`` (a run's
    ``intervention`` field; ``None``: none); ``inits()`` gives the runs' initial models before any
    training (L2 Init's anchors)."""
    if arm is None:
        return Hooks()
    iv = REGISTRY.get(arm.get("name"))
    if iv is None or set(arm) - {"name"} != set(iv.settings):
        raise ValueError(f"intervention: {arm} is not an intervention with its settings; known: {', '.join(REGISTRY)}")
    return iv.hooks({k: v for k, v in arm.items() if k != "name"}, inits) if iv.hooks else Hooks()
