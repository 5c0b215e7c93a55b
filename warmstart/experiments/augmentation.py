"""Data augmentation on both arms (a counterpoint: an OpenReview workshop paper reports that with
data augmentation warm starting does not hurt generalisation; beyond both papers).

Runs, per seed at ``fraction``: the plain pretraining, warm and fresh starts (shared with the
fraction experiment), and the same three with augmentation throughout, pretraining included
(``transforms``: MNIST-1D's own kinds of variation, ``warmstart.train.shift_scale_noise``: a
circular shift of up to ``shift`` points, the amplitude scaled by up to ``± scale``, Gaussian noise
of standard deviation ``noise``; declared before any data). An augmented run draws its transforms
per step from its own key, so the warm and fresh arms of a seed see the same data order and the
same transforms.

Claim (the counterpoint): with augmentation, warm and fresh starts generalise alike. Primary
contrasts: the augmented gap, ``fresh − warm`` with augmentation on both arms, equivalent to 0
within the margin; and augmentation narrows the gap, ``(fresh − warm) − (fresh_aug − warm_aug)`` > 0.
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, gap, gaps, select
from warmstart.names import segments
from warmstart.plotting import COLORS, n_seeds
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.verdicts import Contrast

NAME = "augmentation"


def check(cfg: dict) -> None:
    """The transforms are for 1-D signals: the study's data set must be MNIST-1D."""
    if cfg["dataset"]["name"] != "mnist1d":
        raise ConfigError("config key experiments.augmentation: its transforms (shift, scale, noise) are for MNIST-1D's signals; "
                          f"disable it for {cfg['dataset']['name']}")  # fmt: skip


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    transforms = dict(sorted(cfg["transforms"].items()))
    aug = dataclasses.replace(s, train=s.train | {"augment": transforms}, path=f"{s.path}/augment/{segments(**transforms)}")
    for seed in t.seeds(cfg):
        for augmented, setting in (("no", s), ("yes", aug)):
            pre = t.pretrain(setting, cfg["fraction"], seed)
            t.pair(NAME, seed, t.warm(setting, pre, seed), t.fresh(setting, seed), augmented=augmented)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    plain, aug = select(final, NAME, augmented="no"), select(final, NAME, augmented="yes")
    narrowed = gaps(plain) - gaps(aug) if len(plain) and len(aug) else pd.Series(dtype=float)
    return [
        gap("main", "augmented on both arms: gap", aug, kind="equivalence"),
        Contrast("main", "plain gap - augmented gap", "effect", narrowed, bool(plain.converged.all() and aug.converged.all())),
    ]


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """What augmentation does to each arm: ``acc(arm, augmented) − acc(arm)``."""
    final = tables["final"]
    out = []
    a, b = select(final, NAME, augmented="yes"), select(final, NAME, augmented="no")
    for arm in ("fresh", "warm"):
        d = (a[a.arm == arm].set_index("seed").final_test_acc - b[b.arm == arm].set_index("seed").final_test_acc).dropna()
        m, lo, hi = mean_ci(d)
        out.append(f"augmentation on the {arm} start: {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] points (secondary)")
    return out


def by_augmentation(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Test accuracy of the warm and fresh starts without and with augmentation (mean, 95% interval),
    and the paired gap of each."""
    final = tables["final"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
    for x, augmented in enumerate(("no", "yes")):
        rows = select(final, NAME, augmented=augmented)
        for dx, arm in ((-0.1, "fresh"), (0.1, "warm")):
            m, lo, hi = mean_ci(rows[rows.arm == arm].final_test_acc)
            a.errorbar(x + dx, 100 * m, yerr=[[100 * (m - lo)], [100 * (hi - m)]], fmt="o", color=COLORS[arm], capsize=3,
                       label=arm if x == 0 else None)  # fmt: skip
        m, lo, hi = mean_ci(gaps(rows).dropna())
        b.errorbar(x, 100 * m, yerr=[[100 * (m - lo)], [100 * (hi - m)]], fmt="o", color=COLORS["warm"], capsize=3)
    margin = 100 * cfg["margin_accuracy"]
    b.axhspan(-margin, margin, color=COLORS["fresh"], alpha=0.15, lw=0)
    b.axhline(0, color=COLORS["fresh"], lw=1)
    for ax in (a, b):
        ax.set_xticks(np.arange(2), ["no augmentation", "augmentation"])
    a.set(ylabel="test accuracy (%)")
    b.set(ylabel="gap (points): fresh − warm")
    a.legend(fontsize=7)
    fig.suptitle(f"Augmentation on both arms, fraction {cfg['fraction']:g} ({n_seeds(final[final.experiment == NAME])} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=116,
    title="Augmentation on both arms (counterpoint)",
    claims={
        "main": "With data augmentation on both arms (and in pretraining), warm and fresh starts generalise alike: augmentation "
        "removes the warm-start gap (a counterpoint reported in an OpenReview workshop paper)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "augmentation": Figure(
            by_augmentation,
            ("final",),
            "Left, test accuracy of the fresh and warm starts without and with augmentation throughout (MNIST-1D's shifts, "
            "scaling and noise; mean and 95% interval); right, the paired gap, fresh minus warm, with the equivalence margin "
            "as a band.",
        )
    },
    check=check,
    notes=notes,
    claim_word="Claim tested",
    reads=("dataset.name",),
)
