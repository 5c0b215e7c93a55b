"""The regulariser on both arms (a counterpoint; Zaidi et al. 2022, "When does re-initialization
work?"; beyond both papers).

The arena compares a warm start *with* a regulariser (L2, L2 Init, Parseval, ...) against a plain
fresh start, so "it narrows the gap" may only say "a regulariser helps", warm or not. Zaidi et al.
found, over 15,000 models, that re-initialisation helps little once regularisation is tuned. Here
each of ``arms`` (labels of the arena's arms, interventions that act only during tuning) is given
to the fresh start too, each arm with the setting chosen *for it* on the validation split: the
warm start the arena's (``tools/select_interventions.py``), the fresh start its own (``fresh``,
chosen by the same rule with ``--fresh``), as Zaidi et al. tune the regulariser of both.

Runs, per seed at the arena's fraction: the plain warm and fresh starts (shared with the fraction
experiment and the arena), and per arm its warm start (the arena's run) and a fresh start trained
with the same intervention at its own setting (``fresh/<arm>``), the same data order.

Claim per arm, that of Zaidi et al. read for the warm-start gap: given the same regulariser, warm
and fresh starts generalise alike. Primary contrasts: the regularised gap, ``acc(fresh + reg) −
acc(warm + reg)``, equivalent to 0 within the margin; and the regulariser narrows the gap, ``(fresh
− warm) − (acc(fresh + reg) − acc(warm + reg))`` > 0. One Holm family over all arms.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart import interventions
from warmstart.errors import ConfigError
from warmstart.experiments import arena
from warmstart.experiments.base import Experiment, Figure, arms, gap, gaps, select
from warmstart.plotting import ARMS, COLORS, n_seeds
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.units import unit_names
from warmstart.verdicts import Contrast

NAME = "regularised"


def claims(cfg: dict) -> dict[str, str]:
    return {
        a: f"given {a} on both arms, each at the setting chosen for it on the validation split, warm and fresh starts generalise "
        "alike: the tuned regulariser, not the fresh start, closes the gap (Zaidi et al. 2022, for the warm-start gap)"
        for a in cfg["arms"]
    }


def arena_arms(cfg: dict) -> dict[str, dict]:
    """The arena's arms by label."""
    return {interventions.label(a): a for a in cfg["arena"]["arms"]}


def check(cfg: dict) -> None:
    """Each arm is an arm of the arena (checked as the arena checks them) that acts only during
    tuning, so that a fresh start can be given it; ``fresh`` holds one setting of the same
    intervention per arm, in the arena's grid; the fraction is the arena's (its warm runs are)."""
    arena.check_arms(cfg["arena"], cfg["model"])
    known = arena_arms(cfg)
    for a in cfg["arms"]:
        if a not in known:
            raise ConfigError(f"config key experiments.regularised.arms: {a!r} is not an arm of experiments.arena ({', '.join(known)})")
        iv = interventions.REGISTRY[known[a]["name"]]
        if iv.hooks is None or iv.at_start is not None or iv.variant is not None:
            raise ConfigError(f"config key experiments.regularised.arms: {a!r} does not act only during tuning; a fresh start "
                              "cannot be given it")  # fmt: skip
    if cfg["fraction"] != cfg["arena"]["fraction"]:
        raise ConfigError(f"config key experiments.regularised.fraction: {cfg['fraction']} must be the arena's "
                          f"({cfg['arena']['fraction']}): its warm runs are the arena's")  # fmt: skip
    if len(cfg["fresh"]) != len(cfg["arms"]):
        raise ConfigError(f"config key experiments.regularised.fresh: one setting per arm ({len(cfg['arms'])}), in the arms' order")
    m = cfg["model"]
    for i, (a, f) in enumerate(zip(cfg["arms"], cfg["fresh"], strict=True)):
        problem = interventions.check(f, unit_names(m["name"], m["depth"]), m["name"])
        if problem or f.get("name") != known.get(a, {}).get("name"):
            where = f".{problem}" if problem else f": must be a setting of {a!r}"
            raise ConfigError(f"config key experiments.regularised.fresh[{i}]{where}")
        grid = cfg["arena"]["grids"].get(f["name"], {})
        off = [k for k, values in grid.items() if f[k] not in values]
        if off:
            raise ConfigError(f"config key experiments.regularised.fresh[{i}].{off[0]}: {f[off[0]]} must be one of experiments.arena."
                              f"grids.{f['name']}.{off[0]} {grid[off[0]]} (chosen on the validation split)")  # fmt: skip


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    units = unit_names(s.model["name"], s.model["depth"])
    known = arena_arms(cfg)
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair(NAME, seed, t.warm(s, pre, seed), t.fresh(s, seed), intervention="none")
        for a, f in zip(cfg["arms"], cfg["fresh"], strict=True):
            path, fields = interventions.warm_run(known[a], units)
            warm = t.warm(s, pre, seed, path=path, **fields)
            path, fields = interventions.warm_run(f, units)
            t.pair(NAME, seed, warm, t.fresh(s, seed, path=path, **fields), intervention=a)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    plain = select(final, NAME, intervention="none")
    out = []
    for a in cfg["arms"]:
        rows = select(final, NAME, intervention=a)
        both = bool(rows.converged.all() and plain.converged.all()) and not rows.empty
        narrowed = gaps(plain) - gaps(rows) if len(rows) and len(plain) else pd.Series(dtype=float)
        out += [
            gap(a, f"{a} on both arms: gap", rows, kind="equivalence"),
            Contrast(a, f"{a}: plain gap - gap with {a} on both arms", "effect", narrowed, both),
        ]
    return out


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """What the regulariser does to each arm alone: ``acc(arm + reg) − acc(arm)``, warm and fresh."""
    final = tables["final"]
    plain = arms(select(final, NAME, intervention="none"))
    out = []
    for a in cfg["arms"]:
        reg = arms(select(final, NAME, intervention=a))
        for arm, column in (("fresh", "fresh"), ("warm", "warm")):
            m, lo, hi = mean_ci((reg[column] - plain[column]).dropna())
            out.append(f"{a} on the {arm} start alone: {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] points (secondary)")
    return out


def by_arm(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Per regulariser (and none), the paired gap fresh − warm with the regulariser on both arms,
    mean and 95% interval; the equivalence margin as a band."""
    final = tables["final"]
    names = ["none", *cfg["arms"]]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.4))
    margin = 100 * cfg["margin_accuracy"]
    ax.axvspan(-margin, margin, color=COLORS["fresh"], alpha=0.15, lw=0, label="± margin")
    ax.axvline(0, color=COLORS["fresh"], lw=1)
    for y, (name, color) in enumerate(zip(names, [COLORS["warm"], *ARMS], strict=False)):
        m, lo, hi = mean_ci(gaps(select(final, NAME, intervention=name)).dropna())
        ax.errorbar(100 * m, y, xerr=[[100 * (m - lo)], [100 * (hi - m)]], fmt="o", color=color, capsize=3)
    ax.set_yticks(np.arange(len(names)), ["no regulariser" if n == "none" else f"{n} on both" for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="gap (points): fresh − warm, the same regulariser on both")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"The regulariser on both arms ({n_seeds(final[final.experiment == NAME])} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=115,
    title="The regulariser on both arms (counterpoint)",
    claims=claims,
    runs=runs,
    contrasts=contrasts,
    figures={
        "regularised": Figure(
            by_arm,
            ("final",),
            "The warm-start gap (fresh minus warm, paired by seed, 95% interval) when both arms are trained with the same "
            "regulariser, the arena's setting, against the gap without one; the band is the equivalence margin.",
        )
    },
    factor=interventions.FIELDS,  # a pair's arms may differ in these, besides parent (they share them here)
    check=check,
    notes=notes,
    claim_word="Claim tested",  # Zaidi et al.'s finding, per regulariser
    reads=("arena", "model"),
)
