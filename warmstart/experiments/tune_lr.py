"""A larger tuning learning rate (Berariu et al. 2021, Fig. 7).

Runs: per seed and multiplier m, warm and fresh tuning with m times the learning rate (from the
same pretraining, at the base rate ``lr``, the study's unless the section sets its own; under the
section's own epoch cap ``tune_epochs`` if it sets one: a large rate converges later). Primary
contrasts, paired by seed: the reduction of the gap from the smallest to the largest multiplier
(gap at x1 minus gap at x10; claimed positive) and the gap at the largest multiplier (claimed
still positive, "does not close it"). Also reported: warm at the largest multiplier against
fresh at the smallest.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart.experiments.base import Experiment, Figure, arms, gap, gaps, select
from warmstart.names import segment
from warmstart.plotting import COLORS, errorbar, n_seeds, summarise
from warmstart.randomness import TUNE
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.verdicts import Contrast

NAME = "tune_lr"


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting(lr=cfg["lr"]) if cfg.get("lr") else t.setting()
    cap = {"epochs": cfg["tune_epochs"]} if cfg.get("tune_epochs") else {}  # its own cap; pretraining stays shared
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        for mult in cfg["multipliers"]:
            lr = s.train["lr"] * mult
            path = "/".join(([segment("lr", lr)] if mult != 1 else []) + ([f"cap~{cap['epochs']}"] if cap else []))
            warm = t.warm(s, pre, seed, path=path, lr=lr, **cap)
            fresh = t.run(s, "fresh" + (f"/{path}" if path else ""), seed, TUNE, lr=lr, **cap)
            t.pair(NAME, seed, warm, fresh, lr_multiplier=mult)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    lo, hi = min(cfg["multipliers"]), max(cfg["multipliers"])
    low, high = select(final, NAME, lr_multiplier=lo), select(final, NAME, lr_multiplier=hi)
    converged = bool(low.converged.all() and high.converged.all())
    return [
        Contrast("main", f"gap at x{lo:g} minus gap at x{hi:g} (reduction)", "effect", gaps(low) - gaps(high), converged),
        gap("main", f"gap at x{hi:g} (not closed)", high),
    ]


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """Secondary (not in the verdict): fresh at the smallest multiplier minus warm at the largest."""
    final, lo, hi = tables["final"], min(cfg["multipliers"]), max(cfg["multipliers"])
    d = arms(select(final, NAME, lr_multiplier=lo))["fresh"] - arms(select(final, NAME, lr_multiplier=hi))["warm"]
    m, low, high = mean_ci(d.dropna())
    return [f"fresh at x{lo:g} minus warm at x{hi:g}: {100 * m:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}] points (secondary)"]


def by_rate(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy per tuning learning-rate multiplier, warm and fresh (Fig. 7)."""
    f = tables["final"][tables["final"].experiment == NAME]
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for arm in ("fresh", "warm"):
        s = summarise(f[f.arm == arm], ["lr_multiplier"])
        errorbar(ax, s.lr_multiplier, s, color=COLORS[arm], label=arm)
    ax.set_xscale("log")
    ax.set(xlabel="tuning learning rate multiplier", ylabel="final test accuracy")
    ax.legend()
    fig.suptitle(f"Larger tuning learning rate ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=80,
    title="A larger tuning learning rate",
    claims={"main": "A 10x larger tuning learning rate substantially reduces the gap but does not close it (Berariu et al. 2021, Fig. 7)."},
    runs=runs,
    contrasts=contrasts,
    figures={
        "tune_lr": Figure(
            by_rate,
            ("final",),
            "Final test accuracy of warm and fresh tuning against the multiplier of the tuning learning rate, mean and 95% interval "
            "over seeds (Berariu et al. 2021, Fig. 7).",
        )
    },
    one_parent=True,
    notes=notes,
)
