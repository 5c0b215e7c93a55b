"""The label-noise warm start (Lee et al. 2024's protocol, after Zaidi et al. 2022, who found that
re-initialisation helps most under label noise; beyond both papers).

Runs, per seed at ``fraction``: the pretraining on the clean subset and on the same subset with a
``rate`` of its labels corrupted (each such example given a wrong label drawn uniformly from the
other classes; one corruption for every seed, as one subset: the verdicts are conditional on that
draw, ``warmstart.data.corrupt_labels``); from each, the
plain warm start and the warm start with each of ``arms`` (labels of the arena's arms that act at
the warm start: resets, shrink & perturb, ...), all tuned on the clean full training set; and
fresh. Every tuning run of a seed sees the same data order; an arm draws the same noise after
either pretraining.

Claims. (gap) Pretraining on noisy labels widens the warm-start gap: the noisy gap, ``fresh −
warm_noisy`` > 0, and ``(fresh − warm_noisy) − (fresh − warm_clean)`` > 0. (per arm) The arm helps
more after noisy pretraining: ``(arm − warm)_noisy − (arm − warm)_clean`` > 0. One Holm family.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart import interventions
from warmstart.errors import ConfigError
from warmstart.experiments import arena
from warmstart.experiments.base import Experiment, Figure, arms, gap, gaps, select
from warmstart.names import fraction_subset, segment
from warmstart.plotting import ARMS, COLORS, n_seeds
from warmstart.randomness import PRETRAIN
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.units import unit_names
from warmstart.verdicts import Contrast

NAME = "label_noise"


def claims(cfg: dict) -> dict[str, str]:
    return {
        "gap": f"Pretraining on labels of which {100 * cfg['rate']:g}% are corrupted widens the warm-start gap (Lee et al. 2024; "
        "Zaidi et al. 2022).",
    } | {
        a: f"{a} at the warm start helps more after noisy pretraining than after clean (Zaidi et al. 2022: re-initialisation "
        "helps under label noise)."
        for a in cfg["arms"]
    }


def check(cfg: dict) -> None:
    """Each arm is an arm of the arena (checked as the arena checks them) that acts at the warm start."""
    arena.check_arms(cfg["arena"], cfg["model"])
    known = {interventions.label(a): a for a in cfg["arena"]["arms"]}
    for a in cfg["arms"]:
        if a not in known or interventions.REGISTRY[known[a]["name"]].at_start is None:
            starts = [k for k, v in known.items() if interventions.REGISTRY[v["name"]].at_start is not None]
            raise ConfigError(f"config key experiments.label_noise.arms: {a!r} is not an arm of experiments.arena that acts at the "
                              f"warm start ({', '.join(starts)})")  # fmt: skip


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    units = unit_names(s.model["name"], s.model["depth"])
    known = {interventions.label(a): a for a in cfg["arena"]["arms"]}
    subset, noise = fraction_subset(cfg["fraction"]), {"rate": cfg["rate"], "seed": cfg["dataset"]["subset_seed"]}
    tag = segment("labelnoise", cfg["rate"])
    for seed in t.seeds(cfg):
        fresh = t.fresh(s, seed)
        clean = t.pretrain(s, cfg["fraction"], seed)
        noisy = t.run(s, f"pretrain/{subset}/{tag}", seed, PRETRAIN, subset=subset, epochs=s.train["pretrain_epochs"], corrupt_labels=noise)
        for pretraining, pre, base in (("clean", clean, ""), ("noisy", noisy, tag)):
            t.pair(NAME, seed, t.warm(s, pre, seed, path=base), fresh, pretraining=pretraining, intervention="none")
            for a in cfg["arms"]:
                path, fields = interventions.warm_run(known[a], units)
                warm = t.warm(s, pre, seed, path="/".join(p for p in (base, path) if p), **fields)
                t.pair(NAME, seed, warm, fresh, arm=a, pretraining=pretraining, intervention=a)


def helped(final: pd.DataFrame, a: str, pretraining: str) -> pd.Series:
    """Per seed, ``acc(arm) − acc(plain warm)`` after one pretraining."""
    return (
        arms(select(final, NAME, pretraining=pretraining, intervention=a))[a]
        - arms(select(final, NAME, pretraining=pretraining, intervention="none"))["warm"]
    )


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    clean, noisy = (select(final, NAME, pretraining=p, intervention="none") for p in ("clean", "noisy"))
    fitted = lambda *rs: bool(all(r.converged.all() and len(r) for r in rs))  # noqa: E731
    wider = gaps(noisy) - gaps(clean) if len(noisy) and len(clean) else pd.Series(dtype=float)
    out = [gap("gap", "noisy pretraining: gap", noisy), Contrast("gap", "noisy gap - clean gap", "effect", wider, fitted(clean, noisy))]
    for a in cfg["arms"]:
        rows = [select(final, NAME, pretraining=p, intervention=a) for p in ("clean", "noisy")]
        values = helped(final, a, "noisy") - helped(final, a, "clean") if all(len(r) for r in rows) else pd.Series(dtype=float)
        out.append(Contrast(a, f"{a}: gain over plain warm, noisy - clean", "effect", values, fitted(clean, noisy, *rows)))
    return out


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """Each arm's gain over the plain warm start after each pretraining, and the clean gap."""
    final = tables["final"]
    m, lo, hi = mean_ci(gaps(select(final, NAME, pretraining="clean", intervention="none")).dropna())
    out = [f"clean pretraining: gap {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] points (secondary)"]
    for a in cfg["arms"]:
        for p in ("clean", "noisy"):
            m, lo, hi = mean_ci(helped(final, a, p).dropna())
            out.append(f"{a} after {p} pretraining: {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] points over plain warm (secondary)")
    return out


def by_pretraining(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Per arm (plain warm and each of ``arms``), its gap to fresh after clean and after noisy
    pretraining (mean and 95% interval)."""
    final = tables["final"]
    names = ["none", *cfg["arms"]]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for dx, (p, color) in zip((-0.12, 0.12), (("clean", ARMS[0]), ("noisy", COLORS["warm"])), strict=True):
        for x, name in enumerate(names):
            m, lo, hi = mean_ci(gaps(select(final, NAME, pretraining=p, intervention=name)).dropna())
            ax.errorbar(x + dx, 100 * m, yerr=[[100 * (m - lo)], [100 * (hi - m)]], fmt="o", color=color, capsize=3,
                        label=f"{p} pretraining" if x == 0 else None)  # fmt: skip
    ax.axhline(0, color=COLORS["fresh"], lw=1)
    ax.set_xticks(np.arange(len(names)), ["plain warm" if n == "none" else n for n in names], fontsize=8)
    ax.set(ylabel="gap to fresh (points)")
    ax.legend(fontsize=7)
    seeds = n_seeds(final[final.experiment == NAME])
    fig.suptitle(f"Pretraining with {100 * cfg['rate']:g}% corrupted labels, fraction {cfg['fraction']:g} ({seeds} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=117,
    title="The label-noise warm start (counterpoint)",
    claims=claims,
    runs=runs,
    contrasts=contrasts,
    figures={
        "label_noise": Figure(
            by_pretraining,
            ("final",),
            "The gap to fresh (fresh minus the arm, paired by seed, 95% interval) of the plain warm start and of each warm-start "
            "intervention, after pretraining on the clean subset and on the same subset with corrupted labels; every arm tuned on "
            "the clean full training set.",
        )
    },
    factor=interventions.FIELDS,  # a pair's arms may differ in these, besides parent
    check=check,
    notes=notes,
    claim_word="Claim tested",
    reads=("arena", "dataset.subset_seed", "model"),
)
