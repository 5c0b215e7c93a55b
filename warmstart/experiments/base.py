"""What every experiment module shares: the record that declares it, its figures' shape and the
paired selections its contrasts are built from.

An experiment module (found by the registry, ``warmstart.experiments``) ends with one
``EXPERIMENT = Experiment(...)``, which declares everything the registry, the tables, the summary
and the protocol know of it; every default is the dataclass's. ``cfg``, what its functions are
given, is ``Settings``: its own config section, the study-level keys of ``study_keys``, and the
sections or keys it declares in ``reads`` (another experiment's section by its name, or a
top-level section of the config or a key of one: ``model``, ``train.tune_epochs``), nothing else;
asking for another section fails.
``tables`` holds ``final`` (and ``diagnostics``, ``timing`` where they exist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from warmstart.runs import RunTable, Setting
from warmstart.verdicts import Contrast


@dataclass(frozen=True)
class Figure:
    """One figure: ``draw(tables, cfg)`` returns a matplotlib figure drawn from the named
    ``tables`` (``final``, ``metrics``, ``diagnostics``, ``timing``: one drawn from ``diagnostics``
    exists only where its experiment diagnoses a run); ``caption`` is its caption in the report;
    ``readme``: shown in the README (``snakemake docs`` copies it into ``docs/``)."""

    draw: Callable
    tables: tuple[str, ...]
    caption: str
    readme: bool = False


@dataclass(frozen=True)
class Experiment:
    """One experiment, as its module declares it.

    * ``name``, ``order`` (its place in the summary), ``title``; ``claims``: claim key -> the
      paper's claim, or a function of ``cfg`` where they depend on the config (the arena's, one per
      intervention); ``claim_word``: how a claim is introduced in the summary;
    * ``runs(table, cfg)``: adds its runs and rows to the run table; ``factor``: the run fields in
      which the arms of its pairs may differ besides ``parent`` (``experiments.pair_differences``
      holds them to it); ``one_parent``: its warm arms of a seed share one pretraining;
    * ``contrasts(tables, cfg)``: its primary contrasts, declared in code before any data
      (``verdicts.Contrast``); ``inputs``: the tables they read; ``figures``: figure name ->
      ``Figure``;
    * ``check(cfg)``: its settings against the sections it reads, raising ``ConfigError`` (what a
      schema cannot express); ``notes(tables, cfg)``: secondary lines for the summary; ``words``: its
      verdicts in its own words; ``tables``: file name under ``results/tables/`` -> a function of
      ``gap.csv`` giving its text; ``read_after``: the key of its section holding the epoch after
      which its arms are read (part of the protocol);
    * ``reads``: the config sections it may see besides its own (``arena``, another experiment's;
      ``model``, a top-level one), or single keys of one (``train.tune_epochs``: only what decides
      its results, so that a speed setting reruns none of its tables); ``section``: its own top-level
      section, if not ``experiments.<name>``; ``needs``: experiments it needs (of lower ``order``);
      ``pairs``: whether it adds pairs of its own (the hypothesis reads the fraction experiment's).
    """

    name: str
    order: int
    title: str
    claims: dict[str, str] | Callable[[dict], dict[str, str]]
    runs: Callable[[RunTable, dict], None]
    contrasts: Callable[[dict[str, pd.DataFrame], dict], list]
    figures: dict[str, Figure]
    factor: frozenset[str] = frozenset()
    one_parent: bool = False
    check: Callable[[dict], None] | None = None
    notes: Callable[[dict[str, pd.DataFrame], dict], list[str]] | None = None
    words: dict[str, str] = field(default_factory=dict)
    claim_word: str = "Paper's claim"
    tables: dict[str, Callable[[pd.DataFrame], str]] = field(default_factory=dict)
    read_after: str | None = None
    reads: tuple[str, ...] = ()
    section: str | None = None
    needs: tuple[str, ...] = ()
    pairs: bool = True
    inputs: tuple[str, ...] = ("final",)

    def claims_for(self, cfg: dict) -> dict[str, str]:
        """Its claims under ``cfg``."""
        return self.claims(cfg) if callable(self.claims) else self.claims

    def notes_for(self, tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
        """Its secondary notes for the summary (none where it declares none)."""
        return self.notes(tables, cfg) if self.notes else []


class UndeclaredSection(KeyError):
    """An experiment asked for a config section it does not declare in ``Experiment.reads``."""

    def __str__(self) -> str:
        return self.args[0]


class Settings(dict):
    """An experiment's ``cfg``: a dict of its own section, the study keys and its declared sections;
    asking (``[]`` or ``get``) for any other ``guarded`` name (a top-level section of the config or
    another experiment; ``None``: every key not there, for a section of which it reads single keys,
    named under ``prefix``) raises ``UndeclaredSection`` naming it."""

    def __init__(self, items: dict, owner: str, guarded: set[str] | None, prefix: str = ""):
        super().__init__(items)
        self.owner, self.guarded, self.prefix = owner, guarded, prefix

    def _refuse(self, key: object) -> None:
        if key not in self and (self.guarded is None or key in self.guarded):
            what = f"config key '{self.prefix}{key}'" if self.prefix else f"config section {key!r}"
            raise UndeclaredSection(f"experiment {self.owner} reads {what}, which it does not declare (Experiment.reads)")

    def __missing__(self, key: object) -> object:
        self._refuse(key)
        raise KeyError(key)

    def get(self, key: object, default: object = None) -> object:
        self._refuse(key)
        return super().get(key, default)


def model_setting(t: RunTable, cfg: dict) -> Setting:
    """The study's setting with the experiment's own ``model`` (width, depth), if it sets one (the
    reset and speed experiments' six-unit network)."""
    return t.setting(model=cfg.get("model") or None)


def diagnosed_seeds(t: RunTable, cfg: dict) -> set[int]:
    """The seeds of an experiment whose runs are diagnosed (its ``diagnostics_seeds``): N, its first
    N seeds (whatever they are: a study of seeds 3000-3031 diagnoses 3000-3003); a list, those of
    them that are its seeds."""
    n, seeds = cfg["diagnostics_seeds"], t.seeds(cfg)
    return set(seeds[:n]) if isinstance(n, int) else set(t.seeds({"seeds": n})) & set(seeds)


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
