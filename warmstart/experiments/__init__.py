"""The registry of experiments, one module each (``base`` says what a module defines), and the
study's run table built from them.

Adding an experiment: write its module here (it is found by itself: every module of this package
that defines ``NAME``), add its section to the config schema and to ``configs/tiny.yaml``.
Everything else (rules, figures, tables, summary) follows.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from types import ModuleType

import pandas as pd

from warmstart import overview
from warmstart.experiments.base import Figure, study_keys
from warmstart.runs import RunTable
from warmstart.verdicts import CONTRAST_COLUMNS, judge


def discover() -> dict[str, ModuleType]:
    """Every experiment module of this package (one that defines ``NAME``), by ``ORDER``."""
    found = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    found = sorted((m for m in found if hasattr(m, "NAME")), key=lambda m: (getattr(m, "ORDER", 1000), m.NAME))
    for i, m in enumerate(found):  # enabled() decides in this order: what a module needs must come before it
        later = [n for n in getattr(m, "NEEDS", ()) if n not in [f.NAME for f in found[:i]]]
        if later:
            raise ValueError(f"experiments: {m.NAME} needs {later[0]}, which must come before it (a lower ORDER)")
    return {m.NAME: m for m in found}


MODULES: dict[str, ModuleType] = discover()
EXPERIMENTS = [name for name, m in MODULES.items() if getattr(m, "PAIRS", True)]  # those that add pairs of their own


def section(config: dict, name: str) -> dict:
    """Experiment ``name``'s config section: ``experiments.<name>``, or the module's ``SECTION``."""
    m = MODULES[name]
    return config[m.SECTION] if hasattr(m, "SECTION") else config["experiments"].get(name, {})


def enabled(config: dict) -> list[str]:
    """The experiments the config runs: those whose section is enabled (the schema's default
    where the config is silent; ``config.validate`` fills it in) and whose ``NEEDS`` are."""
    on: list[str] = []
    for name, m in MODULES.items():
        if section(config, name).get("enabled", False) and all(n in on for n in getattr(m, "NEEDS", ())):
            on.append(name)
    return on


def settings(config: dict, name: str) -> dict:
    """What experiment ``name``'s runs, verdicts and figures read: its config section and the
    study-level keys of ``base.study_keys``."""
    return dict(section(config, name)) | study_keys(config)


def check(config: dict) -> None:
    """Each enabled experiment's checks of its settings against the rest of the config (its
    module's ``check(cfg, config)``, raising ``ConfigError``), which a schema cannot express."""
    for name in enabled(config):
        if hasattr(MODULES[name], "check"):
            MODULES[name].check(section(config, name), config)


def own_tables(config: dict) -> dict[str, str]:
    """Every extra table of the enabled experiments (a module's ``TABLES``: file name -> function
    of ``gap.csv``): table file name -> its experiment."""
    return {file: name for name in enabled(config) for file in getattr(MODULES[name], "TABLES", {})}


def owner(name: str) -> ModuleType:
    """The module that draws the figures of ``name``: an experiment's, or ``overview``."""
    return overview if name == "overview" else MODULES[name]


def figures(config: dict) -> dict[str, tuple[str, Figure]]:
    """Every figure of the enabled experiments, and the overview of their primary contrasts that
    opens the summary: figure name -> (owner, ``Figure``)."""
    out = {
        fig: (name, f)
        for name in enabled(config)
        for fig, f in MODULES[name].FIGURES.items()
        if f.when is None or f.when(settings(config, name))
    }
    return out | {fig: ("overview", f) for fig, f in overview.FIGURES.items()}


def build(config: dict) -> RunTable:
    """The run table of every enabled experiment of ``config``, and the runs to diagnose."""
    table = RunTable(config)
    for name in enabled(config):
        MODULES[name].runs(table, settings(config, name))
    return table


PAIR_FIELDS = {"id", "parent"}  # every pair's arms differ in these: the warm arm starts from its parent
# what a warm arm's ancestors (its pretraining) share with the fresh arm: the same network, started alike
LINEAGE_FIELDS = ("dataset", "model", "init_seed", "batch_size", "weight_decay", "augment", "precision")


def pair_differences(table: RunTable) -> list[str]:
    """Every way in which the arms of a pair of ``table`` (each row's run against the fresh run of
    its condition and seed) differ beyond their experiment's declared ``FACTOR``, one line each
    naming the pair and the field; every warm arm whose lineage (parent, its parent, ...) differs
    from the fresh arm in a ``LINEAGE_FIELDS``; and, in an experiment whose arms are compared with
    each other from one warm start (``ONE_PARENT``: the arena against plain warm, ...), a seed whose
    warm arms do not share their parent. Empty when every pair differs only in its factor."""
    rows = pd.DataFrame(table.rows)
    out = []
    for (exp, cond, seed), g in rows.groupby(["experiment", "condition", "seed"], sort=False):
        fresh = table.runs[g.run[g.arm == "fresh"].iloc[0]]
        for run_id in g.run[g.arm != "fresh"]:
            arm = table.runs[run_id]
            allowed = PAIR_FIELDS | MODULES[exp].FACTOR
            out += [f"{exp} [{cond}] seed {seed}: {run_id} and {fresh['id']} differ in {k!r} ({arm.get(k)!r} vs {fresh.get(k)!r})"
                    for k in sorted(set(arm) | set(fresh)) if k not in allowed and arm.get(k) != fresh.get(k)]  # fmt: skip
            parent = arm["parent"]
            while parent:
                p = table.runs[parent]
                off = [k for k in LINEAGE_FIELDS if p[k] != fresh[k]]
                if off:
                    out.append(f"{exp} [{cond}] seed {seed}: {run_id}'s ancestor {parent} does not start as {fresh['id']} ({off[0]})")
                parent = p["parent"]
    for (exp, seed), g in rows[rows.arm != "fresh"].groupby(["experiment", "seed"], sort=False):
        by_network: dict[str, set] = {}  # an architectural arm (the arena's LayerNorm) is a network of its own
        for r in g.run:
            by_network.setdefault(json.dumps(table.runs[r]["model"], sort_keys=True), set()).add(table.runs[r]["parent"])
        for parents in by_network.values():
            if getattr(MODULES[exp], "ONE_PARENT", False) and len(parents) > 1:
                out.append(f"{exp} seed {seed}: its warm arms start from {len(parents)} parents, not one: {sorted(map(str, parents))}")
    return out


def judge_all(tables: dict, experiments: dict[str, dict], protocol: dict) -> pd.DataFrame:
    """``contrasts.csv``: every primary contrast of the experiments in ``experiments`` (name ->
    ``settings``), judged with one Holm family per experiment (``verdicts.judge``), under the
    ``protocol`` section's alpha, margins and check tolerance."""
    margins = {"accuracy": protocol["margin_accuracy"], "epochs": protocol["margin_epochs"]}
    frames = [
        judge(name, MODULES[name].contrasts(tables, cfg), margins, protocol["alpha"], protocol["check_tolerance"])
        for name, cfg in experiments.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTRAST_COLUMNS)


def claims(name: str, cfg: dict) -> dict[str, str]:
    """Experiment ``name``'s claims (key -> text): its module's ``claims(cfg)`` where they depend
    on the config (the arena's, one per intervention), else its ``CLAIMS``."""
    module = MODULES[name]
    return module.claims(cfg) if hasattr(module, "claims") else module.CLAIMS


def notes_all(tables: dict, experiments: dict[str, dict]) -> dict[str, list[str]]:
    """Each experiment's secondary notes for the summary (its module's ``notes``, if any)."""
    return {name: MODULES[name].notes(tables, cfg) if hasattr(MODULES[name], "notes") else [] for name, cfg in experiments.items()}


def claims_all(experiments: dict[str, dict]) -> dict[str, dict[str, str]]:
    """Every experiment's claims (``claims``), for the summary."""
    return {name: claims(name, cfg) for name, cfg in experiments.items()}
