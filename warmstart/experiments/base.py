"""What every experiment module shares: its figures' shape and the paired selections its
contrasts are built from.

An experiment module (found by the registry, ``warmstart.experiments``) defines:

* ``NAME``, ``ORDER`` (its place in the summary), ``TITLE``, ``CLAIMS`` (claim key -> the paper's
  claim; or ``claims(cfg)`` where they depend on the config, as the arena's, one per intervention);
* ``runs(table, cfg)``: adds its runs and rows to the run table; ``FACTOR``: the run fields in
  which the arms of its pairs may differ besides ``parent`` (``experiments.pair_differences``
  holds them to it); ``ONE_PARENT``: its warm arms of a seed share one pretraining;
* ``contrasts(tables, cfg)``: its primary contrasts, declared in code before any data
  (``verdicts.Contrast``); ``FIGURES``: figure name -> ``Figure``;
* optionally ``check(cfg, config)`` (its settings against the rest of the config, raising
  ``ConfigError``), ``notes(tables, cfg)`` (secondary lines for the summary), ``WORDS`` (its
  verdicts in its own words), ``CLAIM_WORD``, ``TABLES`` (file name under ``results/tables/`` ->
  a function of ``gap.csv`` giving its text), ``READ_AFTER`` (the key of its section holding the
  epoch after which its arms are read; part of the protocol), and, for an experiment that reads
  another's runs, ``SECTION`` (its config section, if not ``experiments.<NAME>``), ``NEEDS``
  (experiments it needs, of lower ``ORDER``), ``PAIRS = False`` (no pairs of its own) and
  ``READS`` (the tables its contrasts read, if more than ``final``).

``tables`` holds ``final`` (and ``diagnostics``, ``timing`` where they exist); ``cfg`` is the
experiment's config section plus the study-level keys of ``study_keys``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from warmstart.verdicts import Contrast


@dataclass(frozen=True)
class Figure:
    """One figure: ``draw(tables, cfg)`` returns a matplotlib figure drawn from the named
    ``tables`` (``final``, ``metrics``, ``diagnostics``, ``timing``); ``caption`` is its caption in
    the report; ``readme``: shown in the README (``snakemake docs`` copies it into ``docs/``);
    ``when(cfg)``: whether the experiment's settings draw it at all (``None``: always)."""

    draw: Callable
    tables: tuple[str, ...]
    caption: str
    readme: bool = False
    when: Callable[[dict], bool] | None = None


def select(final: pd.DataFrame, experiment: str, **where: object) -> pd.DataFrame:
    """The rows of ``experiment`` whose parameters equal ``where``, exactly: a value keeps its float
    from the config through the tables (``tables.read`` reads them back exactly)."""
    rows = final[final.experiment == experiment]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows


def arms(rows: pd.DataFrame, value: str = "final_test_acc") -> pd.DataFrame:
    """``value`` per seed (index) and arm (columns) of one condition's rows."""
    return rows.pivot(index="seed", columns="arm", values=value)


def other_arm(rows: pd.DataFrame) -> str:
    """The arm of a condition that is not ``fresh`` (``warm``, ``shift``, ``shrink_perturb``)."""
    return next(a for a in dict.fromkeys(rows.arm) if a != "fresh")


def gap(claim: str, name: str, rows: pd.DataFrame, kind: str = "effect") -> Contrast:
    """The condition's paired gap ``fresh - warm`` in final test accuracy, converged when every
    pair of the condition is (``final.csv``'s ``converged``); ``kind`` as in ``verdicts.KINDS``."""
    if rows.empty:
        return Contrast(claim, name, kind, pd.Series(dtype=float), False)
    return Contrast(claim, name, kind, gaps(rows), bool(rows.converged.all()), condition=rows.condition.iloc[0])


def gaps(rows: pd.DataFrame) -> pd.Series:
    """Per seed, the gap ``fresh - warm`` of one condition's rows."""
    a = arms(rows)
    return a["fresh"] - a[other_arm(rows)]


def study_keys(config: dict) -> dict:
    """The study-level settings an experiment's verdicts and figures may read: the protocol's
    fit threshold (also the speed threshold) and accuracy margin, and the study's model name."""
    return {
        "fit_threshold": config["protocol"]["read"]["train_acc"],
        "model_name": config["model"]["name"],
        "margin_accuracy": config["protocol"]["margin_accuracy"],
    }
