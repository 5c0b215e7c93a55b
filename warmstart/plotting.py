"""Figures of the study: one function per figure, taking tables, returning a matplotlib figure.

The style is shared (``STYLE``, ``COLORS``); arms keep one colour across every figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from warmstart.stats import mean_ci  # noqa: E402

STYLE = {
    "figure.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}
COLORS = {"fresh": "#1b7837", "warm": "#b2182b", "pretrain": "#7f7f7f"}


def save(fig: plt.Figure, png: str | Path, pdf: str | Path) -> None:
    """Write ``fig`` as PNG and PDF, then close it."""
    for path in (png, pdf):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)


def _band(ax, curves: pd.DataFrame, x_offset: int, color: str, label: str | None) -> None:
    """Mean and 95% interval over seeds of ``curves`` (index epoch, one column per seed)."""
    stats = np.array([mean_ci(row) for row in curves.to_numpy()])
    x = curves.index.to_numpy() + x_offset
    ax.plot(x, stats[:, 0], color=color, lw=1.2, label=label)
    if curves.shape[1] > 1:
        ax.fill_between(x, stats[:, 1], stats[:, 2], color=color, alpha=0.2, lw=0)


def learning_curves(metrics: pd.DataFrame, final: pd.DataFrame, condition: str, window: int) -> plt.Figure:
    """Train and test accuracy against epoch for one condition of the ``fraction`` experiment:
    pretraining (negative epochs) then warm tuning, and fresh tuning from the same initialisation;
    the final-accuracy window shaded."""
    rows = final[(final.experiment == "fraction") & (final.condition == condition)]
    warm, fresh = rows[rows.arm == "warm"], rows[rows.arm == "fresh"]

    def curves(runs: pd.Series, split: str) -> pd.DataFrame:
        m = metrics[metrics.run.isin(runs) & (metrics.split == split)]
        return m.pivot(index="epoch", columns="run", values="acc")[list(runs)]

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        for ax, split in zip(axes, ("train", "test")):
            pre = curves(warm.parent, split)
            tune_end = int(fresh.epochs.max())
            _band(ax, pre, -int(pre.index.max()), COLORS["pretrain"], f"pretraining ({condition})")
            _band(ax, curves(warm.run, split), 0, COLORS["warm"], "warm tuning (full set)")
            _band(ax, curves(fresh.run, split), 0, COLORS["fresh"], "fresh (full set)")
            ax.axvspan(tune_end - window, tune_end, color="k", alpha=0.08, lw=0, label=f"final window ({window} epochs)")
            ax.axvline(0, color="k", lw=0.6, ls=":")
            ax.set(title=f"{split} accuracy", xlabel="epoch (pretraining < 0 < tuning)")
        axes[0].set_ylabel("accuracy")
        axes[1].legend(loc="lower right", fontsize=7)
        fig.suptitle(f"Warm vs fresh start, pretraining on {condition} (mean and 95% CI over {len(fresh)} seeds)")
    return fig


def fraction_figure(final: pd.DataFrame, gap: pd.DataFrame) -> plt.Figure:
    """Final test accuracy (warm per fraction, fresh as a band) and the paired gap, against the
    pretraining fraction, each with its 95% interval over seeds."""
    f = final[final.experiment == "fraction"]
    g = gap[gap.experiment == "fraction"].assign(fraction=lambda d: d.condition.str.split("=").str[1].astype(float)).sort_values("fraction")
    with plt.rc_context(STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
        warm = np.array([mean_ci(x.final_test_acc) for _, x in f[f.arm == "warm"].groupby("fraction")])
        fr = sorted(f[f.arm == "warm"].fraction.unique())
        fresh = mean_ci(f[f.arm == "fresh"].drop_duplicates("run").final_test_acc)
        a.axhspan(fresh[1], fresh[2], color=COLORS["fresh"], alpha=0.2, lw=0)
        a.axhline(fresh[0], color=COLORS["fresh"], lw=1.2, label="fresh (full set)")
        a.errorbar(
            fr,
            warm[:, 0],
            yerr=[warm[:, 0] - warm[:, 1], warm[:, 2] - warm[:, 0]],
            color=COLORS["warm"],
            marker="o",
            capsize=3,
            label="warm start",
        )
        a.set(title="final test accuracy", xlabel="pretraining fraction of the training set", ylabel="test accuracy")
        a.legend()
        b.axhline(0, color="k", lw=0.8)
        b.errorbar(g.fraction, g.gap_mean, yerr=[g.gap_mean - g.gap_ci_low, g.gap_ci_high - g.gap_mean], color="k", marker="o", capsize=3)
        b.set(
            title="generalisation gap (fresh - warm, paired)",
            xlabel="pretraining fraction of the training set",
            ylabel="gap in test accuracy",
        )
        fig.suptitle(f"Warm-start gap against pretraining fraction (mean and 95% CI over {int(g.n.max())} seeds)")
    return fig
