"""A continual chain of tasks: the training data arrive in chunks (Ash & Adams 2020, Sec. 3, the
online setting; beyond Berariu et al.).

Runs: the training set is cut into ``chunks`` nested parts (the first ``k/K`` of one random
permutation, as the pretraining fractions are). Round ``k`` trains on everything seen so far,
chunks ``1..k``, under the protocol's read-out rule (until its training accuracy, eval mode,
reaches the threshold; or the tuning cap) and is read there. The *warm* chain starts round ``k``
from round ``k − 1``'s final state; the *fresh* reference trains round ``k`` from the
initialisation of the seed; both see the same data order in a round. Round 1 is the same run for
every chain. Each intervention of ``arms`` (labels of the arena's arms, with the arena's settings)
has its own warm chain, applied at every warm start from round 2 on (and during every round from
round 2 on, for L2, L2 Init, SAM, ReDo and continual backprop; L2 Init anchors to the seed's first
initialisation). The final state of every round of every warm chain (plain and each
intervention's) and of the fresh runs is diagnosed (``diagnostics_seeds`` seeds): dead units,
effective and stable rank, weight norms, distance from initialisation, gradient norm, sharpness.

Primary contrasts (the claim: warm-starting each round from the last generalises worse than
starting fresh): the plain chain's gap, fresh − warm in test accuracy, averaged over rounds
``2..K`` and at the last round, each > 0.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart import interventions
from warmstart.errors import ConfigError
from warmstart.experiments import arena
from warmstart.experiments.base import Experiment, Figure, diagnosed_seeds, gap, gaps, select
from warmstart.names import condition, fraction_subset
from warmstart.plotting import ARMS, COLORS, errorbar, n_seeds, summarise
from warmstart.randomness import CHAIN
from warmstart.runs import RunTable, Setting
from warmstart.stats import mean_ci
from warmstart.units import unit_names
from warmstart.verdicts import Contrast

NAME = "chain"
DIAGNOSED = ("dead_units", "effective_rank", "stable_rank", "weight_norm", "dist_init", "grad_norm", "hessian_eig1")


def share(k: int, chunks: int) -> float:
    return round(k / chunks, 6)


def round_run(t: RunTable, s: Setting, cfg: dict, path: str, k: int, seed: int, parent: dict | None, **fields: object) -> dict:
    """Round ``k`` of a chain named ``path``: chunks ``1..k``, to the training-accuracy threshold."""
    f = share(k, cfg["chunks"])
    stop = t.read_rule()
    subset = None if f == 1 else fraction_subset(f)
    return t.run(s, f"chain~{cfg['chunks']}/{path}/round~{k}", seed, CHAIN + k, parent=parent["id"] if parent else None,
                 subset=subset, stop=stop, **fields)  # fmt: skip


def check(cfg: dict) -> None:
    """Each chain's intervention is an arm of the arena (it takes the arena's settings, checked as
    the arena checks them, whether or not the arena itself runs) that keeps the network's shape."""
    arena.check_arms(cfg["arena"], cfg["model"])
    labels = [interventions.label(a) for a in cfg["arena"].get("arms", [])]
    unknown = [a for a in cfg["arms"] if a not in labels]
    if unknown:
        raise ConfigError(f"config key experiments.chain.arms: {unknown[0]!r} is not an arm of experiments.arena ({', '.join(labels)})")
    arms = {interventions.label(a): a for a in cfg["arena"]["arms"]}
    fixed = [a for a in cfg["arms"] if not interventions.REGISTRY[arms[a]["name"]].chains]
    if fixed:
        raise ConfigError(f"config key experiments.chain.arms: {fixed[0]!r} changes the network at the warm start; a chain's "
                          "rounds start from their parent's network, so it cannot take part")  # fmt: skip


def runs(t: RunTable, cfg: dict) -> None:
    s = t.setting()
    arms = {interventions.label(a): a for a in cfg["arena"]["arms"]}
    units = unit_names(s.model["name"], s.model["depth"])
    chains = {"warm": {}} | {label: interventions.fields(arms[label], units) for label in cfg["arms"]}
    diagnosed = diagnosed_seeds(t, cfg)
    for seed in t.seeds(cfg):
        first = round_run(t, s, cfg, "fresh", 1, seed, None)
        previous = dict.fromkeys(chains, first)
        for k in range(1, cfg["chunks"] + 1):
            fresh = first if k == 1 else round_run(t, s, cfg, "fresh", k, seed, None)
            for label, fields in chains.items():
                warm = first if k == 1 else round_run(t, s, cfg, label, k, seed, previous[label], **fields)
                previous[label] = warm
                t.pair(NAME, seed, warm, fresh, arm=label, round=k, intervention="none" if label == "warm" else label)
                if seed in diagnosed and (k > 1 or label == "warm"):  # every chain's rounds; round 1 is one run
                    name = "none" if label == "warm" else label
                    base = {"experiment": NAME, "condition": condition(round=k, intervention=name), "seed": seed}
                    seen = fraction_subset(share(max(k - 1, 1), cfg["chunks"]))  # the chunks of the rounds before
                    for arm, run in ((label, warm), ("fresh", fresh))[: 2 if label == "warm" and k > 1 else 1]:
                        t.diagnose.append(base | {"arm": arm, "run": run["id"], "epochs": [run["epochs"]], "noise_epochs": [],
                                                  "seen": seen})  # fmt: skip


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    plain = final[(final.experiment == NAME) & (final.intervention == "none") & (final["round"] > 1)]
    if plain.empty:
        return []
    per_round = [gaps(rows) for _, rows in plain.groupby("round")]
    mean = pd.concat(per_round, axis=1).mean(axis=1)
    last = select(final, NAME, intervention="none", round=cfg["chunks"])
    return [
        Contrast("main", "plain warm chain: gap averaged over rounds 2..K", "effect", mean, bool(plain.converged.all())),
        gap("main", f"plain warm chain: gap at the last round ({cfg['chunks']})", last),
    ]


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """Per chain (plain and each intervention): its gap averaged over rounds 2..K, secondary."""
    f = tables["final"]
    f = f[(f.experiment == NAME) & (f["round"] > 1)]
    out = []
    for label, rows in f.groupby("intervention", sort=False):
        m, lo, hi = mean_ci(pd.concat([gaps(r) for _, r in rows.groupby("round")], axis=1).mean(axis=1))
        name = "plain warm" if label == "none" else label
        out.append(f"chain {name}: gap averaged over rounds 2..K {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] points (secondary)")
    return out


def by_round(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Test accuracy, the gap to fresh and epochs to the threshold against the round, for fresh,
    the plain warm chain and each intervention's chain (mean and 95% interval over seeds)."""
    f = tables["final"][tables["final"].experiment == NAME]
    fig, (acc, gap_ax, speed) = plt.subplots(1, 3, figsize=(13, 3.6))
    fresh = f[f.arm == "fresh"].drop_duplicates("run")
    for ax, value in ((acc, "final_test_acc"), (speed, "stop_epoch")):
        s = summarise(fresh, ["round"], value)
        errorbar(ax, s["round"], s, color=COLORS["fresh"], label="fresh")
    for i, (label, rows) in enumerate(f.groupby("intervention", sort=False)):
        color, name = (COLORS["warm"], "plain warm") if label == "none" else (ARMS[i % len(ARMS)], label)
        chain = rows[rows.arm != "fresh"]
        g = rows.pivot_table(index=["round", "seed"], columns="arm", values="final_test_acc")
        g = (100 * (g["fresh"] - g[chain.arm.iloc[0]])).rename("gap").reset_index()
        for ax, data, value in ((acc, chain, "final_test_acc"), (gap_ax, g, "gap"), (speed, chain, "stop_epoch")):
            s = summarise(data, ["round"], value)
            errorbar(ax, s["round"], s, color=color, label=name)
    gap_ax.axhline(0, color="k", lw=0.8)
    acc.set(xlabel="round (chunks seen)", ylabel="test accuracy at the stop")
    gap_ax.set(xlabel="round", ylabel="gap (points): fresh − chain")
    for ax in (acc, gap_ax, speed):
        ax.set_xticks(range(1, cfg["chunks"] + 1))
    speed.set(xlabel="round", ylabel="epochs to the threshold")
    acc.legend(fontsize=7)
    fig.suptitle(f"A continual chain of {cfg['chunks']} chunks ({n_seeds(f)} seeds)")
    return fig


def diagnostics(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Per round, the final state of every chain (plain warm, each intervention's) and of the fresh
    runs on unseen training examples: each quantity of ``DIAGNOSED``."""
    d = tables["diagnostics"]
    d = d[(d.experiment == NAME) & (d.half == "unseen")].copy()
    d["round"] = d.condition.str.extract(r"round=(\d+)").astype(int)
    fig, axes = plt.subplots(1, len(DIAGNOSED), figsize=(3.2 * len(DIAGNOSED), 3.2))
    colors = {"fresh": COLORS["fresh"], "warm": COLORS["warm"]} | dict(zip(cfg["arms"], ARMS, strict=False))
    for ax, q in zip(axes, DIAGNOSED, strict=True):
        for arm, color in colors.items():  # round 1 is one run, diagnosed as the plain chain's: every chain's first point
            rows = d[(d.quantity == q) & ((d.arm == arm) | ((d["round"] == 1) & (arm != "warm")))]
            if len(rows):
                s = summarise(rows, ["round"], "value")
                errorbar(ax, s["round"], s, color=color, label="plain warm" if arm == "warm" else arm)
        ax.set(xlabel="round", title=q.replace("_", " "), xticks=range(1, cfg["chunks"] + 1))
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Plasticity diagnostics along the chain ({n_seeds(d)} seeds, unseen examples)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=120,
    title="A continual chain of tasks",
    claims={
        "main": "When the training data arrive in chunks and each round trains on all data seen so far, warm-starting every round from "
        "the previous one generalises worse than training each round from a fresh initialisation (Ash & Adams 2020, online setting)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "chain": Figure(
            by_round,
            ("final",),
            "A continual chain: the training data arrive in chunks and each round trains on all data so far to the threshold. Left, "
            "test accuracy at the stop per round for fresh, the plain warm chain and each intervention's chain; middle, the gap "
            "(fresh minus chain, paired by seed); right, epochs to the threshold (Ash & Adams 2020, online setting).",
            readme=True,
        ),
        "chain_diagnostics": Figure(
            diagnostics,
            ("diagnostics",),
            "The final state of every round of the plain warm chain, of each intervention's chain and of the fresh runs, on "
            "training examples outside the previous rounds' chunks: fraction of dead units, effective and stable rank (Kumar et "
            "al. 2021) of the penultimate features, weight norm, distance from the initialisation, gradient norm and top "
            "Hessian eigenvalue, mean and 95% interval over the diagnosed seeds.",
        ),
    },
    factor=interventions.FIELDS,  # a pair's arms may differ in these, besides parent
    check=check,
    notes=notes,
    reads=("arena", "model"),
)
