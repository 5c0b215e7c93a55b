"""The gap against the pretraining fraction (Berariu et al. 2021, Fig. 1 at 0.5; Ash & Adams 2020).

Runs: per seed and fraction f, pretraining on the nested subset f, then warm tuning on the full
set, paired with the fresh run of the same seed. Primary contrast: the gap at the headline
fraction (``curves_fraction``); the other fractions are shown with their own (uncorrected)
readings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, gap, gaps, select
from warmstart.plotting import COLORS, band
from warmstart.runs import RunTable
from warmstart.stats import mean_ci

NAME = "fraction"


def check(cfg: dict) -> None:
    """The curves' fraction is one of the fractions run."""
    if cfg["curves_fraction"] not in cfg["fractions"]:
        raise ConfigError(
            f"config key experiments.fraction.curves_fraction: {cfg['curves_fraction']} must be one of "
            f"experiments.fraction.fractions {cfg['fractions']}"
        )


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    for seed in t.seeds(cfg):
        for f in cfg["fractions"]:
            pre, fresh = t.pretrain(s, f, seed), t.fresh(s, seed)
            warm = t.warm(s, pre, seed)
            t.pair(NAME, seed, warm, fresh, fraction=f)
            if f == cfg["curves_fraction"]:
                t.draw(pre, warm, fresh)  # the learning curves' runs


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    f = cfg["curves_fraction"]
    return [gap("main", f"gap at fraction {f:g}", select(tables["final"], NAME, fraction=f))]


def learning_curves(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Train and test accuracy against epoch at the headline fraction: pretraining (negative
    epochs) then warm tuning, and fresh tuning from the same initialisation, each until its read-out
    epoch; the span of the epochs at which the seeds' runs were read is shaded, per arm."""
    metrics, final = tables["metrics"], tables["final"]
    rows = select(final, NAME, fraction=cfg["curves_fraction"])
    condition = rows.condition.iloc[0]
    warm, fresh = rows[rows.arm == "warm"], rows[rows.arm == "fresh"]

    def curves(runs: pd.Series, split: str) -> pd.DataFrame:
        m = metrics[metrics.run.isin(runs) & (metrics.split == split)]
        return m.pivot(index="epoch", columns="run", values="acc")[list(runs)]

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, split in zip(axes, ("train", "test")):
        pre = curves(warm.parent, split)
        band(ax, pre, -int(pre.index.max()), COLORS["pretrain"], f"pretraining ({condition})")
        band(ax, curves(warm.run, split), 0, COLORS["warm"], "warm tuning (full set)")
        band(ax, curves(fresh.run, split), 0, COLORS["fresh"], "fresh (full set)")
        for arm, rows_ in (("warm", warm), ("fresh", fresh)):
            ax.axvspan(rows_.read_from.min(), rows_.read_to.max(), color=COLORS[arm], alpha=0.08, lw=0, label=f"{arm}: epochs read")
        ax.axvline(0, color="k", lw=0.6, ls=":")
        ax.set(title=f"{split} accuracy", xlabel="epoch (pretraining < 0 < tuning)")
    axes[0].set_ylabel("accuracy")
    axes[1].legend(loc="lower right", fontsize=7)
    fig.suptitle(f"Warm vs fresh start, pretraining on {condition} (mean and 95% CI over {len(fresh)} seeds)")
    return fig


def by_fraction(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy (warm per fraction, fresh as a band) and the paired gap, against the
    pretraining fraction, each with its 95% interval over seeds."""
    f = tables["final"][tables["final"].experiment == NAME]
    fr = sorted(f.fraction.unique())
    g = np.array([mean_ci(gaps(select(f, NAME, fraction=x))) for x in fr])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    warm = np.array([mean_ci(select(f, NAME, fraction=x).query("arm == 'warm'").final_test_acc) for x in fr])
    fresh = mean_ci(f[f.arm == "fresh"].drop_duplicates("run").final_test_acc)
    a.axhspan(fresh[1], fresh[2], color=COLORS["fresh"], alpha=0.2, lw=0)
    a.axhline(fresh[0], color=COLORS["fresh"], lw=1.2, label="fresh (full set)")
    a.errorbar(fr, warm[:, 0], yerr=[warm[:, 0] - warm[:, 1], warm[:, 2] - warm[:, 0]], color=COLORS["warm"], marker="o", capsize=3,
               label="warm start")  # fmt: skip
    a.set(title="final test accuracy", xlabel="pretraining fraction of the training set", ylabel="test accuracy")
    a.legend()
    b.axhline(0, color="k", lw=0.8)
    b.errorbar(fr, g[:, 0], yerr=[g[:, 0] - g[:, 1], g[:, 2] - g[:, 0]], color="k", marker="o", capsize=3)
    b.set(
        title="generalisation gap (fresh - warm, paired)", xlabel="pretraining fraction of the training set", ylabel="gap in test accuracy"
    )
    fig.suptitle(f"Warm-start gap against pretraining fraction (mean and 95% CI over {f.seed.nunique()} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=10,
    title="Gap against the pretraining fraction",
    claims={
        "main": "A warm start (pretrain on part of the data, then train on all of it) ends with lower test accuracy than a fresh "
        "start on all of it, though both fit the training set (Ash & Adams 2020; Berariu et al. 2021, Fig. 1, 50%)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "fraction_curves": Figure(
            learning_curves,
            ("metrics", "final"),
            "Train and test accuracy against epoch at the headline pretraining fraction: pretraining (negative epochs), then warm "
            "tuning on the full set, against a fresh start from the same initialisation (paired by seed). Mean and 95% interval over "
            "seeds; each run stops and is read under the protocol's rule (eval-mode training accuracy at the threshold); the shaded "
            "spans are where the seeds' runs were read (Berariu et al. 2021, Fig. 1).",
            readme=True,
        ),
        "fraction": Figure(
            by_fraction,
            ("final",),
            "Final test accuracy of the warm start against the pretraining fraction, with the fresh start as a band, and the paired "
            "gap (fresh - warm) with its 95% t-interval over seeds.",
            readme=True,
        ),
    },
    check=check,
)
