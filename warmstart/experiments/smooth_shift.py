"""A smooth shift of the data instead of a switch (Berariu et al. 2021, Fig. 3).

Runs: one run per seed and gamma whose examples come from the full set with probability
``1 - gamma^(50 n/N)`` at step n, otherwise from the pretraining subset, over ``N = shift_epochs``
epochs, then from the full set; it is paired with a fresh run of its own that trains on the full
set throughout. Both arms are stopped and read by the protocol's rule counting only the epochs
after N (``stop.from``): the same rule, read at the same earliest point, once the drift has ended
(as the paper reads its run at the end), each fitted where read. The pair differs only in the
data schedule (``shift``).
Primary contrasts: the gap averaged over every gamma of the grid (per seed), and the gap at the
smallest gamma (the fastest fade, the weakest bias); each gamma is shown with its own reading.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, gap, gaps, select
from warmstart.names import fraction_subset, segment
from warmstart.plotting import COLORS, CYCLE, errorbar, fresh_band, n_seeds, summarise
from warmstart.randomness import TUNE
from warmstart.runs import RunTable
from warmstart.verdicts import Contrast

NAME = "smooth_shift"


def check(cfg: dict) -> None:
    """Both arms can be read after the drift, within the tuning cap."""
    pr, t = cfg["protocol"], cfg["train"]
    if cfg["shift_epochs"] + pr["read"]["consecutive"] > t["tune_epochs"]:
        raise ConfigError(
            f"config key experiments.smooth_shift.shift_epochs: {cfg['shift_epochs']} plus protocol.read.consecutive "
            f"({pr['read']['consecutive']}) must not exceed train.tune_epochs ({t['tune_epochs']}): both arms are read after the drift"
        )


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    subset, n = fraction_subset(cfg["fraction"]), cfg["shift_epochs"]
    stop = t.read_rule() | {"from": n}  # both arms: the protocol's rule, after the drift's N epochs
    for seed in t.seeds(cfg):
        fresh = t.run(s, f"fresh/{segment('from', n)}", seed, TUNE, stop=stop)
        for gamma in cfg["gammas"]:
            shift = {"gamma": gamma, "subset": subset, "epochs": n}
            run = t.run(s, f"shift/{subset}/{segment('gamma', gamma)}", seed, TUNE, shift=shift, stop=stop)
            t.pair(NAME, seed, run, fresh, arm="shift", gamma=gamma)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    per_gamma = [select(final, NAME, gamma=g) for g in cfg["gammas"]]
    pooled = pd.concat([gaps(rows) for rows in per_gamma], axis=1).mean(axis=1)
    converged = all(rows.converged.all() for rows in per_gamma)
    fastest = min(cfg["gammas"])
    return [
        Contrast("main", f"gap averaged over gamma in {cfg['gammas']}", "effect", pooled, converged),
        gap("main", f"gap at gamma {fastest:g} (fastest fade)", select(final, NAME, gamma=fastest)),
    ]


def by_gamma(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy of the smooth-shift run against gamma, fresh as a band; inset: the
    probability p(n) = 1 - gamma^(50 n/N) of drawing from the full set (Berariu et al. Fig. 3)."""
    f = tables["final"][tables["final"].experiment == NAME]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    fresh_band(ax, f)
    s = summarise(f[f.arm == "shift"], ["gamma"])
    errorbar(ax, s.gamma, s, color=COLORS["warm"], label="smooth shift")
    ax.set(xlabel="gamma (larger: slower shift to the full set)", ylabel="final test accuracy")
    ax.legend(loc="lower left")
    inset = ax.inset_axes([0.62, 0.1, 0.35, 0.35])
    t = np.linspace(0, 1, 200)
    for i, g in enumerate(s.gamma):
        inset.plot(t, 1 - g ** (50 * t), color=CYCLE[i % len(CYCLE)], lw=1, label=f"{g:g}")
    inset.set_xscale("symlog", linthresh=0.01)
    inset.set(xlabel="n / N", ylabel="p(n)")
    inset.tick_params(labelsize=6)
    inset.xaxis.label.set_size(6)
    inset.yaxis.label.set_size(6)
    fig.suptitle(f"Smooth shift from the subset to the full set ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=30,
    title="A smooth shift of the data",
    claims={
        "main": "Drawing examples from the full set with probability 1 - gamma^(50 n/N), otherwise from the pretraining half, "
        "also causes a gap: a smooth shift of the data distribution is enough, whether it fades fast or slowly "
        "(Berariu et al. 2021, Fig. 3)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "smooth_shift": Figure(
            by_gamma,
            ("final",),
            "Final test accuracy of one run whose data drift from the pretraining subset to the full set, p(n) = 1 - gamma^(50 n/N) "
            "(inset), against gamma; the fresh start as a band (Berariu et al. 2021, Fig. 3).",
        )
    },
    factor=frozenset({"shift"}),  # the run fields in which a pair's arms may differ (the data schedule)
    check=check,
    read_after="shift_epochs",
    reads=("protocol.read", "train.tune_epochs"),
)
