"""Several pretraining stages with class imbalance (Berariu et al. 2021, Fig. 4).

Runs: per seed, r and n, n stages of growing, class-unbalanced data (each trained to a training
accuracy or for ``stage_epochs``), then tuning on the full set; paired with fresh. Primary
contrasts, as paired differences: the trend in n (per seed, the least-squares slope of the gap
against n, averaged over r; needs two values of n) and the effect of r (per seed, the gap at the
smallest r minus the gap at the largest r, at the largest n; needs two values of r).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.experiments.base import Experiment, Figure, gaps, select
from warmstart.names import stages_group
from warmstart.plotting import CYCLE, errorbar, fresh_band, n_seeds, summarise
from warmstart.randomness import TUNE
from warmstart.runs import RunTable
from warmstart.verdicts import Contrast

NAME = "stages"


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    for seed in t.seeds(cfg):
        for r in cfg["r"]:
            for n in cfg["stages"]:
                parent = None
                for i in range(1, n + 1):
                    parent = t.stage(s, n, r, i, seed, parent, cfg["stage_epochs"], cfg.get("until_train_acc"))
                final = t.run(s, f"{stages_group(n, r)}/final", seed, TUNE, parent=parent["id"])
                t.pair(NAME, seed, final, t.fresh(s, seed), stages=n, r=r)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final, ns, rs = tables["final"], sorted(cfg["stages"]), sorted(cfg["r"])
    out = []
    if len(ns) > 1:
        slopes, converged = [], True
        for r in rs:
            cells = [select(final, NAME, stages=n, r=r) for n in ns]
            converged &= all(c.converged.all() for c in cells)
            g = pd.concat([gaps(c) for c in cells], axis=1).to_numpy()  # seeds x n
            slopes.append(np.polyfit(np.array(ns, float), g.T, 1)[0])  # one slope per seed
        slope = pd.Series(np.mean(slopes, axis=0), index=gaps(select(final, NAME, stages=ns[0], r=rs[0])).index)
        out.append(Contrast("main", f"slope of the gap per extra stage, n in {ns}, mean over r", "effect", slope, converged))
    if len(rs) > 1:
        lo, hi = select(final, NAME, stages=ns[-1], r=rs[0]), select(final, NAME, stages=ns[-1], r=rs[-1])
        diff = gaps(lo) - gaps(hi)
        converged = bool(lo.converged.all() and hi.converged.all())
        out.append(Contrast("main", f"gap at r {rs[0]:g} minus gap at r {rs[-1]:g}, n = {ns[-1]}", "effect", diff, converged))
    return out


def by_stages(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy against the number of pretraining stages, one line per r (Fig. 4)."""
    f = tables["final"][tables["final"].experiment == NAME]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    fresh_band(ax, f, "fresh (n = 0)")
    for i, (r, rows) in enumerate(f[f.arm == "warm"].groupby("r")):
        s = summarise(rows, ["stages"])
        errorbar(ax, s.stages, s, color=CYCLE[i % len(CYCLE)], label=f"r = {r:g}")
    ax.set(xlabel="pretraining stages n", ylabel="final test accuracy")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    fig.suptitle(f"Several pretraining stages with class imbalance ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=40,
    title="Several pretraining stages and class imbalance",
    claims={
        "main": "Final test accuracy falls as the number of pretraining stages n grows, and more so for a smaller r "
        "(more class imbalance between stages) (Berariu et al. 2021, Fig. 4)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "stages": Figure(
            by_stages,
            ("final",),
            "Final test accuracy after n pretraining stages of growing, class-unbalanced data and tuning on the full set, one line "
            "per r (the share of class-balanced data), against the fresh start (n = 0, band) (Berariu et al. 2021, Fig. 4).",
        )
    },
)
