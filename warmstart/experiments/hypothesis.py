"""The paper's hypothesis, measured directly (diagnostics; beyond Berariu et al. 2021).

Hypothesis: pretraining removes gradient noise from early tuning, so the warm start explores
less and ends in a sharper minimum that generalises worse. Runs: the saved states of the
``fraction`` experiment at its headline fraction (end of pretraining; warm and fresh tuning at
``epochs`` and at the end) are diagnosed on two random sets of training examples, *seen* (from
the pretraining subset) and *unseen* (from the rest). Primary contrasts, per half, paired by
seed: the top Hessian eigenvalue at the end of tuning, warm - fresh (claimed positive: warm is
sharper), and tr Σ of per-example gradients over the early tuning epochs (``noise_epochs``, epoch
0's fresh initialisation excluded), fresh - warm (claimed positive: warm tuning is less noisy).
Holm over the four. The noise measure and epochs are fixed in the config before any data.
"""

from __future__ import annotations

from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, select
from warmstart.names import condition
from warmstart.plotting import COLORS, band
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.verdicts import Contrast

NAME = "hypothesis"
FAMILIES = {
    "sharpness": ["hessian_eig1", "hessian_trace"],
    "noise": ["grad_trace_cov", "noise_scale"],
    "gradient": ["grad_norm"],
    "weights": ["weight_norm", "dist_init", "dist_start"],
    "representation": ["dead_units", "effective_rank", "stable_rank"],
}
LABELS = {
    "hessian_eig1": "top Hessian eigenvalue",
    "hessian_trace": "Hessian trace (Hutchinson)",
    "grad_trace_cov": "tr Σ of per-example gradients",
    "noise_scale": "gradient noise scale B_simple",
    "weight_norm": "weight norm",
    "dist_init": "distance from initialisation",
    "dist_start": "distance from the run's start",
    "dead_units": "fraction of dead ReLU units",
    "effective_rank": "effective rank of penultimate features",
    "stable_rank": "stable rank of penultimate features",
    "grad_norm": "gradient norm",
}


def ours(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The diagnostics of the fraction experiment (other experiments, the chain, diagnose runs too)."""
    diag = tables["diagnostics"]
    return diag[diag.experiment == "fraction"]


def check(cfg: dict) -> None:
    """The diagnosed epochs lie on the tuning grid's snapshots; the diagnosed seeds are the fraction experiment's."""
    t = cfg["train"]
    grid = t["snapshot_epochs"]["tune"]
    off = [e for e in [0, *cfg["epochs"]] if e < t["tune_epochs"] and e not in grid]
    if off:
        raise ConfigError(
            f"config key diagnostics.epochs: {off[0]} is not on train.snapshot_epochs.tune {grid} "
            "(the start, 0, is always diagnosed); diagnostics read that grid's snapshots"
        )

    def seeds(s: int | list[int]) -> set[int]:
        return set(range(s)) if isinstance(s, int) else set(s)

    extra = seeds(cfg["seeds"]) - seeds(cfg["fraction"]["seeds"]) if "seeds" in cfg else set()
    if extra:
        raise ConfigError(f"config key diagnostics.seeds: seed {min(extra)} is not a seed of experiments.fraction")


def runs(t: RunTable, cfg: dict) -> None:
    """The runs whose saved states are diagnosed (``t.diagnose``): for each seed of the fraction
    experiment at its ``curves_fraction``, the pretraining run at its end, and the warm and fresh
    tuning runs at ``cfg["epochs"]`` (snapshots of the tuning grid, config.py checks) and at their end."""
    fr = cfg["fraction"]
    s, f = t.setting(), fr["curves_fraction"]
    tune = s.train["tune_epochs"]
    epochs = sorted({e for e in cfg["epochs"] if e < tune} | {0})
    noise = [e for e in cfg["noise_epochs"] if e in epochs or e == tune]
    for seed in t.seeds(cfg if "seeds" in cfg else fr):
        pre = t.pretrain(s, f, seed)
        warm, fresh = t.warm(s, pre, seed), t.fresh(s, seed)
        base = {"experiment": "fraction", "condition": condition(fraction=f), "seed": seed, "seen": pre["subset"]}
        t.diagnose.append(base | {"arm": "pretrain", "run": pre["id"], "epochs": [pre["epochs"]], "noise_epochs": [pre["epochs"]]})
        for arm, run in (("warm", warm), ("fresh", fresh)):
            t.diagnose.append(base | {"arm": arm, "run": run["id"], "epochs": [*epochs, tune], "noise_epochs": noise})


def per_seed(diag: pd.DataFrame, final: pd.DataFrame, half: str) -> pd.DataFrame:
    """Per seed of the diagnosed condition: the gap, the warm-minus-fresh top Hessian eigenvalue
    and trace at the end of tuning, and the fresh-minus-warm ``tr Σ`` averaged over the early
    tuning epochs where it was measured (excluding epoch 0's fresh init), on the examples of
    ``half``; seeds that were not diagnosed are left out."""
    diag = diag[diag.half == half]
    cond = diag.condition.iloc[0]
    f = final[(final.experiment == "fraction") & (final.condition == cond)].pivot(index="seed", columns="arm", values="final_test_acc")
    tune = diag[diag.arm != "pretrain"]
    end = tune[tune.epoch == tune.epoch.max()].pivot_table(index="seed", columns=["quantity", "arm"], values="value")
    noise = tune[(tune.quantity == "grad_trace_cov") & (tune.epoch > 0)].pivot_table(
        index="seed", columns="arm", values="value", aggfunc="mean"
    )
    out = pd.DataFrame({"gap": f["fresh"] - f["warm"]})
    out["d_sharpness"] = end[("hessian_eig1", "warm")] - end[("hessian_eig1", "fresh")]
    if ("hessian_trace", "warm") in end:
        out["d_trace"] = end[("hessian_trace", "warm")] - end[("hessian_trace", "fresh")]
    out["d_noise"] = noise["fresh"] - noise["warm"]
    return out.dropna()  # the diagnosed seeds (diagnostics.seeds) among the condition's


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    diag, final = ours(tables), tables["final"]
    converged = bool(select(final, "fraction", condition=diag.condition.iloc[0]).converged.all())
    out = []
    for half in ("seen", "unseen"):
        h = per_seed(diag, final, half)
        out += [
            Contrast("noise", f"{half}: early tr Σ, fresh - warm", "effect", h.d_noise, converged, unit="value"),
            Contrast(
                "sharpness", f"{half}: top Hessian eigenvalue at the end, warm - fresh", "effect", h.d_sharpness, converged, unit="value"
            ),  # fmt: skip
        ]
    return out


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """Secondary: does the gap grow, across seeds, with the sharpness or noise difference?"""
    from scipy import stats

    out = []
    for half in ("seen", "unseen"):
        h = per_seed(ours(tables), tables["final"], half)
        for col, name in (("d_sharpness", "sharpness difference"), ("d_noise", "noise difference")):
            if len(h) > 2 and h[col].std() > 0 and h.gap.std() > 0:
                r, p = stats.pearsonr(h[col], h.gap)
                out.append(f"{half}: across seeds, the gap against the {name}: Pearson r = {r:.2f} (p = {p:.3g}, uncorrected)")
    return out


def family(tables: dict[str, pd.DataFrame], cfg: dict, quantities: list[str], title: str) -> plt.Figure:
    """Each quantity against tuning epoch (symlog), warm vs fresh, on the unseen examples, mean
    and 95% interval over seeds; the end of pretraining drawn at epoch 0 as a grey marker."""
    diag = ours(tables)
    diag = diag[diag.half == "unseen"]
    fig, axes = plt.subplots(1, len(quantities), figsize=(3.4 * len(quantities), 3.2), squeeze=False)
    for ax, q in zip(axes[0], quantities):
        d = diag[diag.quantity == q]
        for arm in ("fresh", "warm"):
            x = d[d.arm == arm].pivot(index="epoch", columns="seed", values="value")
            if len(x):
                band(ax, x, 0, COLORS[arm], arm)
        pre = d[d.arm == "pretrain"].value
        if len(pre):
            m, lo, hi = mean_ci(pre)
            ax.errorbar([0], [m], yerr=[[m - lo], [hi - m]] if len(pre) > 1 else None, color=COLORS["pretrain"], marker="s",
                        capsize=3, label="end of pretraining")  # fmt: skip
        ax.set_xscale("symlog", linthresh=1)
        ax.set(title=LABELS.get(q, q), xlabel="tuning epoch")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{title}, unseen examples (mean, 95% CI over {diag.seed.nunique()} seeds)")
    return fig


def scatter(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Per seed, the gap against the warm-minus-fresh difference in final sharpness, and against
    the fresh-minus-warm difference in early gradient noise, on the unseen examples."""
    h = per_seed(ours(tables), tables["final"], "unseen")
    panels = [
        ("d_sharpness", "top Hessian eigenvalue at the end: warm - fresh"),
        ("d_noise", "early tr Σ: fresh - warm (mean over noise epochs)"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, (col, label) in zip(axes, panels):
        ax.scatter(h[col], h.gap, color="k", s=18)
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        if len(h) > 2 and h[col].std() > 0:
            slope, icpt = np.polyfit(h[col], h.gap, 1)
            xs = np.linspace(h[col].min(), h[col].max(), 10)
            ax.plot(xs, slope * xs + icpt, color=COLORS["warm"], lw=1, label=f"r = {np.corrcoef(h[col], h.gap)[0, 1]:.2f}")
            ax.legend()
        ax.set(xlabel=label)
    axes[0].set_ylabel("gap in test accuracy (fresh - warm)")
    fig.suptitle("Does the data support the hypothesis? One point per seed (unseen examples)")
    return fig


TITLES = {
    "sharpness": "Sharpness",
    "noise": "Gradient noise",
    "gradient": "Gradient norm",
    "weights": "Weights",
    "representation": "Representation",
}


EXPERIMENT = Experiment(
    name=NAME,
    order=130,
    title="The hypothesis, measured directly (diagnostics)",
    claims={  # one claim per mechanism, so that each is supported only by its own contrasts (seen and unseen halves)
        "noise": "Pretraining removes gradient noise from early tuning, so the warm start explores less (Berariu et al. 2021; "
        "tested there only indirectly). Here gradient noise is tr Σ of per-example gradients over the first tuning epochs, "
        "measured on saved states.",
        "sharpness": "The warm start ends in a sharper minimum, which generalises worse (Berariu et al. 2021; tested there only "
        "indirectly). Here sharpness is the top eigenvalue of the training-loss Hessian at the end of tuning, on saved states.",
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        f"diagnostics_{name}": Figure(
            partial(family, quantities=quantities, title=TITLES[name]),
            ("diagnostics",),
            f"{TITLES[name]} of warm and fresh tuning against the tuning epoch, measured on saved states on training examples the "
            "pretraining did not see, mean and 95% interval over seeds; the end of pretraining at epoch 0 (grey). Definitions: "
            "warmstart/diagnostics.py; the seen half is in results/tables/diagnostics.csv.",
            readme=name == "sharpness",
        )
        for name, quantities in FAMILIES.items()
    }
    | {
        "hypothesis": Figure(
            scatter,
            ("diagnostics", "final"),
            "Per seed, the gap against the difference in final sharpness (warm - fresh) and in early gradient noise (fresh - warm), "
            "on unseen examples: if the hypothesis held, points would lie right of 0 and rise to the right.",
            readme=True,
        )
    },
    check=check,
    notes=notes,
    words={
        "reproduced": "supported",
        "mixed": "mixed: supported on one half of the examples, contradicted on the other",
        "partly reproduced": "partly supported",
        "not reproduced": "not supported",
        "inconclusive": "inconclusive",
        "not converged": "not converged",
    },
    section="diagnostics",
    needs=("fraction",),  # it diagnoses the fraction experiment's runs: on only when that one is
    pairs=False,  # it adds no pairs of its own (its rows are the fraction experiment's)
    inputs=("final", "diagnostics"),
    reads=("fraction", "train.snapshot_epochs", "train.tune_epochs"),
)
