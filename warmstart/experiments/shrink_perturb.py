"""Shrink & perturb at the warm start (Ash & Adams 2020): ``theta <- lambda theta + sigma theta'``.

Runs: per seed, the plain warm start (lambda 1, sigma 0), a grid of (lambda, sigma), and fresh.
The setting tested is declared in the config before any data (``primary``), never picked as the
best on the test set; the rest of the grid is shown. Primary contrasts: the plain warm start's gap
(claimed positive) and how far the declared setting closes it, per seed ``acc(S&P) - (fresh +
warm) / 2`` (claimed positive: it recovers more than half of the gap, "most of it").
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart import interventions
from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, arms, gap, select
from warmstart.plotting import COLORS, CYCLE, errorbar, fresh_band, n_seeds, summarise
from warmstart.runs import RunTable
from warmstart.verdicts import Contrast

NAME = "shrink_perturb"


def check(cfg: dict) -> None:
    """The tested setting is one of the grid's."""
    if cfg["primary"]["shrink"] not in cfg["shrink"] or cfg["primary"]["perturb"] not in cfg["perturb"]:
        raise ConfigError(
            f"config key experiments.shrink_perturb.primary: {cfg['primary']} must be a setting of the grid "
            f"(shrink {cfg['shrink']}, perturb {cfg['perturb']})"
        )


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair(NAME, seed, t.warm(s, pre, seed), t.fresh(s, seed), shrink=1.0, perturb=0.0)
        for lam in cfg["shrink"]:
            for sigma in cfg["perturb"]:
                arm = {"name": "shrink_perturb", "shrink": lam, "perturb": sigma}
                path, fields = interventions.warm_run(arm, [])
                warm = t.warm(s, pre, seed, path=path, **fields)
                t.pair(NAME, seed, warm, t.fresh(s, seed), arm="shrink_perturb", shrink=lam, perturb=sigma)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final, p = tables["final"], cfg["primary"]
    plain = select(final, NAME, shrink=1.0, perturb=0.0)
    sp = select(final, NAME, shrink=p["shrink"], perturb=p["perturb"])
    a, b = arms(plain), arms(sp)
    recovered = b["shrink_perturb"] - (a["fresh"] + a["warm"]) / 2
    return [
        gap("main", "plain warm start: gap", plain),
        Contrast(
            "main",
            f"shrink {p['shrink']:g}, perturb {p['perturb']:g} (declared): accuracy - (fresh + warm) / 2",
            "effect",
            recovered,
            bool(plain.converged.all() and sp.converged.all()),
        ),  # fmt: skip
    ]


def by_shrink(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy and epochs to fit against the shrink factor, one line per
    perturbation scale; fresh as a band, plain warm (shrink 1, perturb 0) as a line; the declared
    setting circled."""
    f = tables["final"][tables["final"].experiment == NAME]
    plain = f[(f.shrink == 1) & (f.perturb == 0) & (f.arm != "fresh")]
    sp = f[(f.arm == "shrink_perturb")]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    fresh_band(a, f)
    if len(plain):
        a.axhline(plain.final_test_acc.mean(), color=COLORS["warm"], lw=1.2, label="plain warm")
    for i, (sigma, rows) in enumerate(sp.groupby("perturb")):
        s = summarise(rows, ["shrink"])
        errorbar(a, s.shrink, s, color=CYCLE[i % len(CYCLE)], label=f"perturb {sigma:g}")
        t = summarise(rows.dropna(subset=["stop_epoch"]), ["shrink"], "stop_epoch")
        if len(t):
            errorbar(b, t.shrink, t, color=CYCLE[i % len(CYCLE)], label=f"perturb {sigma:g}")
    p = cfg["primary"]
    chosen = sp[(sp.shrink == p["shrink"]) & (sp.perturb == p["perturb"])].final_test_acc.mean()
    a.scatter([p["shrink"]], [chosen], s=120, facecolors="none", edgecolors="k", label="declared setting", zorder=5)
    fresh_t = f[f.arm == "fresh"].drop_duplicates("run").stop_epoch.dropna()
    if len(fresh_t):
        b.axhline(fresh_t.mean(), color=COLORS["fresh"], lw=1.2, label="fresh")
    a.set(xlabel="shrink lambda", ylabel="final test accuracy")
    b.set(xlabel="shrink lambda", ylabel="epochs to fit (training accuracy)")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.suptitle(f"Shrink & perturb at the warm start ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=90,
    title="Shrink & perturb",
    claims={
        "main": "Shrinking the pretrained weights and adding a little fresh-initialisation noise (theta <- lambda theta + sigma theta') "
        "at the warm start recovers most of the fresh accuracy (Ash & Adams 2020)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "shrink_perturb": Figure(
            by_shrink,
            ("final",),
            "Final test accuracy (left) and epochs to fit the training data (right) of shrink & perturb at the warm start against the "
            "shrink factor, one line per perturbation scale, with the plain warm start and fresh for reference; the circled setting "
            "is the one declared in the config and tested (Ash & Adams 2020).",
        )
    },
    factor=frozenset({"shrink", "perturb"}),  # the run fields in which a pair's arms may differ, besides parent
    one_parent=True,
    check=check,
)
