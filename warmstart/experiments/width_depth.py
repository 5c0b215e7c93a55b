"""Width and depth (Berariu et al. 2021, Fig. 5).

Runs: per (width, depth) of the grid and seed, pretraining on the subset, warm tuning, fresh.
What width and depth mean depends on the study's model (``units``): on the default MLP, hidden
units per layer and hidden layers, not the ResNet's w and d of Fig. 5. Primary contrasts: the gap
averaged over the grid (per seed) and the gap of the largest model (widest, deepest); each cell
is shown with its own reading.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.experiments.base import Experiment, Figure, gap, gaps, select
from warmstart.plotting import CYCLE
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.verdicts import Contrast

NAME = "width_depth"
MEANING = {
    "mlp": ("hidden units per layer", "hidden layers"),
    "cnn": ("channels per layer", "conv layers"),
    "resnet": ("base width w (channels of the first module)", "blocks per module d"),
}


def runs(t: RunTable, cfg: dict) -> None:
    for w in cfg["widths"]:
        for d in cfg["depths"]:
            s = t.setting(model={"width": w, "depth": d})
            for seed in t.seeds(cfg):
                warm = t.warm(s, t.pretrain(s, cfg["fraction"], seed), seed)
                t.pair(NAME, seed, warm, t.fresh(s, seed), width=w, depth=d)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    cells = [select(final, NAME, width=w, depth=d) for w in cfg["widths"] for d in cfg["depths"]]
    pooled = pd.concat([gaps(c) for c in cells], axis=1).mean(axis=1)
    w, d = max(cfg["widths"]), max(cfg["depths"])
    return [
        Contrast(
            "main", f"gap averaged over the {len(cells)} (width, depth) settings", "effect", pooled, all(c.converged.all() for c in cells)
        ),  # fmt: skip
        gap("main", f"gap of the largest model, width {w}, depth {d}", select(final, NAME, width=w, depth=d)),
    ]


def by_size(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """The paired gap with its interval per (width, depth), grouped by width (Fig. 5)."""
    f = tables["final"][tables["final"].experiment == NAME]
    depths, widths = sorted(f.depth.unique()), sorted(f.width.unique())
    width_label, depth_label = MEANING.get(cfg["model_name"], ("width", "depth"))
    fig, ax = plt.subplots(figsize=(5, 3.4))
    step = 0.8 / len(depths)
    for i, d in enumerate(depths):
        g = np.array([mean_ci(gaps(select(f, NAME, width=w, depth=d))) for w in widths])
        pos = np.arange(len(widths)) + (i - (len(depths) - 1) / 2) * step
        ax.bar(pos, g[:, 0], width=step * 0.9, yerr=[g[:, 0] - g[:, 1], g[:, 2] - g[:, 0]], capsize=3, color=CYCLE[i % len(CYCLE)],
               label=f"{depth_label}: {int(d)}")  # fmt: skip
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(widths)), [str(int(w)) for w in widths])
    ax.set(xlabel=f"{cfg['model_name']} width: {width_label}", ylabel="gap in test accuracy (fresh - warm)")
    ax.legend()
    fig.suptitle(f"Generalisation gap per width and depth of the {cfg['model_name']} (95% CI, {f.seed.nunique()} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=50,
    title="Width and depth",
    claims={"main": "The gap persists for every width and depth tried (Berariu et al. 2021, Fig. 5)."},
    runs=runs,
    contrasts=contrasts,
    figures={
        "width_depth": Figure(
            by_size,
            ("final",),
            "The paired gap (fresh - warm) with its 95% interval per width and depth of the study's model. On the default MLP, "
            "width is hidden units per layer and depth the number of hidden layers, not the ResNet's w and d of Berariu et al. "
            "2021, Fig. 5 (run configs/cifar10.yaml for those).",
        )
    },
)
