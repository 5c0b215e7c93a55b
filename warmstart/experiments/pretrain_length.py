"""Optimiser and pretraining length (Berariu et al. 2021, Fig. 2 and appendix Figs. 8-10).

Runs: per optimiser (each with its own learning rate, and its own fresh reference) and seed, one
pretraining run; warm starts from its snapshots after each number of pretraining epochs.
Primary contrasts: the gap after the longest pretraining, per optimiser (claim ``main``), and the
gap after ``few_epochs`` pretraining epochs with the first optimiser listed (claim ``few_epochs``,
the paper's "after only a few epochs").
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, gap, select
from warmstart.names import segment
from warmstart.plotting import COLORS, errorbar, fresh_band, n_seeds, summarise
from warmstart.runs import RunTable

NAME = "pretrain_length"


def check(cfg: dict) -> None:
    """Warm starts from shorter pretraining come from the pretraining grid's snapshots; the "few
    epochs" of the claim are one of those run."""
    grid = cfg["train"]["snapshot_epochs"]["pretrain"]
    off = [e for e in cfg["epochs"] if e != max(cfg["epochs"]) and e not in grid]
    if off:
        raise ConfigError(
            f"config key experiments.pretrain_length.epochs: {off[0]} is not on train.snapshot_epochs.pretrain {grid}; "
            "warm starts from shorter pretraining come from that grid's snapshots"
        )
    if cfg["few_epochs"] not in cfg["epochs"]:
        raise ConfigError(f"config key experiments.pretrain_length.few_epochs: {cfg['few_epochs']} must be one of epochs {cfg['epochs']}")


def runs(t: RunTable, cfg: dict) -> None:
    for entry in cfg["optimizers"]:
        optimizer = entry["name"]
        s = t.setting(optimizer=optimizer, lr=entry["lr"], pretrain_epochs=max(cfg["epochs"]))
        for seed in t.seeds(cfg):
            fresh = t.fresh(s, seed)
            for e in cfg["epochs"]:
                pre = t.pretrain(s, cfg["fraction"], seed)  # its snapshot of epoch e (on the grid, config.py checks)
                at = None if e == max(cfg["epochs"]) else e
                warm = t.warm(s, pre, seed, path=segment("from", e) if at is not None else "", parent_epoch=at)
                t.pair(NAME, seed, warm, fresh, optimizer=optimizer, pretrain_epochs=e)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final, longest = tables["final"], max(cfg["epochs"])
    out = [
        gap("main", f"{o['name']}, {longest} pretraining epochs", select(final, NAME, optimizer=o["name"], pretrain_epochs=longest))
        for o in cfg["optimizers"]
    ]
    first, few = cfg["optimizers"][0]["name"], cfg["few_epochs"]
    return out + [gap("few_epochs", f"{first}, {few} pretraining epochs", select(final, NAME, optimizer=first, pretrain_epochs=few))]


def by_length(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy after tuning against pretraining epochs (symlog x), one panel per
    optimiser, the fresh level as a band (Berariu et al. Fig. 2)."""
    f = tables["final"][tables["final"].experiment == NAME]
    opts = list(dict.fromkeys(f.optimizer))
    fig, axes = plt.subplots(1, len(opts), figsize=(3.2 * len(opts), 3.2), sharey=True, squeeze=False)
    for ax, opt in zip(axes[0], opts):
        rows = f[f.optimizer == opt]
        fresh_band(ax, rows)
        s = summarise(rows[rows.arm == "warm"], ["pretrain_epochs"])
        errorbar(ax, s.pretrain_epochs, s, color=COLORS["warm"], label="warm start")
        ax.axvline(cfg["few_epochs"], color="k", lw=0.6, ls=":")
        ax.set_xscale("symlog", linthresh=1)
        ax.set(title=opt, xlabel="pretraining epochs")
    axes[0][0].set_ylabel("final test accuracy")
    axes[0][0].legend()
    fig.suptitle(f"Warm start against pretraining length, per optimiser (mean, 95% CI, {n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=20,
    title="Optimiser and pretraining length",
    claims={
        "main": "The gap appears with Adam, RMSprop, SGD and SGD with momentum (Berariu et al. 2021, Fig. 2 and 8-10).",
        "few_epochs": "The gap appears after only a few pretraining epochs (5-10 with Adam), before pretraining fits its data, so "
        "early stopping of pretraining does not avoid it (Berariu et al. 2021, Fig. 2).",
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "pretrain_length": Figure(
            by_length,
            ("final",),
            "Final test accuracy after tuning against the number of pretraining epochs, one panel per optimiser, each with its own "
            "learning rate and fresh reference (band). The dotted line marks the 'few epochs' of the second claim (Berariu et al. "
            "2021, Fig. 2 and 8-10).",
        )
    },
    factor=frozenset({"parent_epoch"}),  # the run fields in which a pair's arms may differ, besides parent
    check=check,
    reads=("train.snapshot_epochs",),
)
