"""What the figures share: the style file, arm colours, saving, and the drawing of a mean with
its 95% interval over seeds. Each experiment's figures live in its module
(``warmstart/experiments/<name>.py``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from warmstart.stats import mean_ci  # noqa: E402

STYLE = Path(__file__).with_name("style.mplstyle")
COLORS = {"fresh": "#1b7837", "warm": "#b2182b", "pretrain": "#7f7f7f"}
CYCLE = ["#2166ac", "#b2182b", "#e08214", "#542788", "#1b7837", "#7f7f7f"]
# colours for arms beside fresh and the plain warm start (none of theirs)
ARMS = ["#2166ac", "#e08214", "#542788", "#7f7f7f", "#01665e", "#c51b7d", "#8c510a", "#35978f"]


def save(fig: plt.Figure, png: str | Path, pdf: str | Path) -> None:
    """Write ``fig`` as PNG and PDF, cropped to what is drawn (tick labels included), then close it."""
    for path in (png, pdf):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def band(ax, curves: pd.DataFrame, x_offset: int, color: str, label: str | None) -> None:
    """Mean and 95% interval over seeds of ``curves`` (index epoch, one column per seed), at each
    epoch over the seeds whose runs were still training then (runs stop at their own read-out).
    Nothing is drawn where nothing was measured (a quantity switched off is all NaN)."""
    curves = curves[curves.notna().any(axis=1)]
    if curves.empty:
        return
    stats = np.array([mean_ci(row[~np.isnan(row)]) for row in curves.to_numpy(float)])
    x = curves.index.to_numpy() + x_offset
    ax.plot(x, stats[:, 0], color=color, lw=1.2, label=label)
    if curves.shape[1] > 1:
        ax.fill_between(x, stats[:, 1], stats[:, 2], color=color, alpha=0.2, lw=0)


def summarise(rows: pd.DataFrame, by: list[str], value: str = "final_test_acc") -> pd.DataFrame:
    """Mean and 95% interval of ``value`` over seeds, per group ``by``."""
    out = [
        dict(zip(by, k if isinstance(k, tuple) else (k,))) | dict(zip(("mean", "lo", "hi"), mean_ci(x[value]))) for k, x in rows.groupby(by)
    ]
    return pd.DataFrame(out)


def yerr(s: pd.DataFrame) -> list:
    """Error-bar lengths below and above ``s["mean"]`` for its interval ``[lo, hi]``."""
    return [s["mean"] - s["lo"], s["hi"] - s["mean"]]


def errorbar(ax, x, s: pd.DataFrame, **kw) -> None:
    """Means of ``s`` at ``x`` with their intervals as error bars."""
    ax.errorbar(x, s["mean"], yerr=yerr(s), capsize=3, marker="o", ms=4, **kw)


def fresh_band(ax, rows: pd.DataFrame, label: str = "fresh") -> None:
    """The fresh arm's mean final test accuracy as a line, its 95% interval over seeds as a band."""
    m, lo, hi = mean_ci(rows[rows.arm == "fresh"].drop_duplicates("run").final_test_acc)
    ax.axhspan(lo, hi, color=COLORS["fresh"], alpha=0.15, lw=0)
    ax.axhline(m, color=COLORS["fresh"], lw=1.2, label=label)


def n_seeds(rows: pd.DataFrame) -> int:
    return int(rows.seed.nunique())
