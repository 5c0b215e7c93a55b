"""An arena of plasticity interventions on the warm start (beyond both papers).

Runs: per seed, at the headline fraction, the plain warm start, the fresh start, and the warm
start with each intervention of ``arms`` (``warmstart.interventions``: L2 and L2 Init, shrink &
perturb, DASH, head and full resets in both modes, ReDo, continual backprop, SAM), all paired by
seed with the same fresh and plain-warm runs (runs shared with ``reset`` and ``shrink_perturb``
are trained once). Each intervention's setting is chosen on a validation split from the grid of
``grids`` (``tools/select_interventions.py``), never on the test set; the config must hold the
choice.

The first ``diagnostics_seeds`` seeds of every arm are diagnosed at their end
(``warmstart.diagnostics``: stable and effective rank, weight norms per layer, distance from
initialisation, gradient norm, dead units, sharpness), the frameworks' measurements of plasticity.

Claims, one per intervention, "it closes the warm-start gap", with two primary contrasts each,
under one Holm correction over the arena: the intervention beats the plain warm start (effect,
``acc(intervention) − acc(warm)``) and it is equivalent to fresh (equivalence,
``acc(fresh) − acc(intervention)`` within the margin). An architectural arm (LayerNorm, CReLU: a
network of its own, with its own pretraining, warm and fresh starts) narrows the gap when its own
gap is smaller than the plain network's (effect, ``(fresh − warm) − (own fresh − own warm)``) and
closes it when, besides, its warm start is equivalent to its own fresh start. Read: *reproduced* =
closes the gap, *mixed* = narrows it and is shown not to close it (the effect supported, the
equivalence against), *partly* = narrows it (the effect supported, the equivalence undecided),
otherwise not shown to narrow the gap. An arm that is the fresh start by construction (every unit
reset and restored to its initial values) makes no claim: its gap of 0 is a built-in check.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart import interventions
from warmstart.errors import ConfigError
from warmstart.experiments.base import Experiment, Figure, arms, diagnosed_seeds, select
from warmstart.names import condition, value
from warmstart.plotting import ARMS, COLORS, n_seeds, summarise
from warmstart.runs import RunTable, Setting
from warmstart.stats import mean_ci, paired_tests
from warmstart.units import unit_names
from warmstart.verdicts import Contrast

NAME = "arena"


def label(arm: dict) -> str:
    """An arm's name in tables and figures: ``l2_init``, ``reset_head_resample``, ..."""
    return interventions.label(arm)


def claim_text(arm: dict) -> str:
    settings = ", ".join(f"{k} {value(v)}" for k, v in arm.items() if k != "name") or "no setting"
    if interventions.REGISTRY[arm["name"]].variant:
        return (f"the network with {label(arm)} closes the warm-start gap: its own gap (its fresh start minus its warm start) is "
                "smaller than the plain network's and its warm start is equivalent to its own fresh start.")  # fmt: skip
    return f"{label(arm)} ({settings}) closes the warm-start gap: better than the plain warm start and equivalent to fresh."


def claims(cfg: dict) -> dict[str, str]:
    return {label(a): claim_text(a) for a in cfg["arms"] if not interventions.identity(a)}


def check(cfg: dict) -> None:
    """Its arms and grids against the study's model (``check_arms``)."""
    check_arms(cfg, cfg["model"])


def check_arms(cfg: dict, m: dict) -> None:
    """Each arm of the arena's section ``cfg`` is an intervention of the registry with valid
    settings that fit the model ``m``, its setting one of its grid's (chosen on the validation
    split); each grid an intervention's. The experiments that take the arena's arms check them so."""
    units = unit_names(m["name"], m["depth"])
    for name, grid in cfg["grids"].items():
        if name not in interventions.REGISTRY:
            raise ConfigError(f"config key experiments.arena.grids.{name}: unknown intervention; expected one of "
                              f"{', '.join(interventions.REGISTRY)}")  # fmt: skip
        settings = interventions.REGISTRY[name].settings
        off = [k for k in grid if k not in settings or settings[k].get("type") not in ("number", "integer")]
        if off:
            raise ConfigError(f"config key experiments.arena.grids.{name}.{off[0]}: not a numeric setting of {name} "
                              f"(its settings: {', '.join(settings)})")  # fmt: skip
    for i, arm in enumerate(cfg["arms"]):
        problem = interventions.check(arm, units, m["name"])
        if problem:
            raise ConfigError(f"config key experiments.arena.arms[{i}].{problem}")
        grid = cfg["grids"].get(arm["name"], {})
        off = [k for k, values in grid.items() if arm.get(k) not in values]
        if off:
            raise ConfigError(
                f"config key experiments.arena.arms[{i}].{off[0]}: {arm.get(off[0])} must be one of experiments.arena.grids."
                f"{arm['name']}.{off[0]} {grid[off[0]]} (chosen on the validation split)"
            )


def warm_run(t: RunTable, s: Setting, pre: dict, seed: int, arm: dict) -> dict:
    """The warm run of one arm (``warmstart.interventions`` says what run it is); resets and shrink
    & perturb share their runs with their own experiments."""
    units = unit_names(s.model["name"], s.model["depth"])
    path, fields = interventions.warm_run(arm, units)
    return t.warm(s, pre, seed, path=path, **fields)


def runs(t: RunTable, cfg: dict) -> None:
    """Every arm's pairs; the first ``diagnostics_seeds`` seeds' runs are diagnosed at their end
    (every arm, the plain warm start and fresh: ``t.diagnose``)."""
    s = t.setting()
    diagnosed = diagnosed_seeds(t, cfg)
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        fresh, plain = t.fresh(s, seed), t.warm(s, pre, seed)
        t.pair(NAME, seed, plain, fresh, intervention="none")
        pairs = [("none", plain, fresh)]
        for arm in cfg["arms"]:
            name, variant = label(arm), interventions.REGISTRY[arm["name"]].variant
            if variant:  # a network of its own: its own pretraining, warm and fresh starts
                own = t.setting(model=variant)
                pairs.append((name, t.warm(own, t.pretrain(own, cfg["fraction"], seed), seed), t.fresh(own, seed)))
            else:
                pairs.append((name, warm_run(t, s, pre, seed, arm), fresh))
            t.pair(NAME, seed, pairs[-1][1], pairs[-1][2], arm=name, intervention=name)
        if seed in diagnosed:
            for name, warm, own_fresh in pairs:
                arms = [("warm" if name == "none" else name, warm)] + [("fresh", own_fresh)] * (name == "none" or own_fresh is not fresh)
                for arm, run in arms:
                    t.diagnose.append({"experiment": NAME, "condition": condition(intervention=name), "arm": arm, "seed": seed,
                                       "run": run["id"], "epochs": [run["epochs"]], "noise_epochs": [], "seen": pre["subset"]})  # fmt: skip


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    plain = select(final, NAME, intervention="none")
    a = arms(plain)
    out = []
    for arm in cfg["arms"]:
        name = label(arm)
        rows = select(final, NAME, intervention=name)
        b = arms(rows)
        both = bool(rows.converged.all() and plain.converged.all()) and not rows.empty
        if interventions.identity(arm):
            same = b.get("fresh", np.nan) - b.get(name, pd.Series(dtype=float))
            fitted = bool(rows.converged.all()) and not rows.empty
            out.append(Contrast(name, f"{name} is the fresh start: fresh - accuracy", "check", same, fitted,
                                condition=rows.condition.iloc[0] if len(rows) else ""))  # fmt: skip
            continue
        mine = b.get(name, pd.Series(dtype=float))
        if interventions.REGISTRY[arm["name"]].variant:  # another network: better only if its own gap is smaller
            effect = Contrast(name, f"{name}: plain gap - own gap", "effect", (a.get("fresh", np.nan) - a.get("warm", np.nan))
                              - (b.get("fresh", np.nan) - mine), both)  # fmt: skip
        else:
            effect = Contrast(name, f"{name}: accuracy - plain warm", "effect", mine - a.get("warm", np.nan), both)
        fitted = bool(rows.converged.all()) and not rows.empty
        own = "own fresh" if interventions.REGISTRY[arm["name"]].variant else "fresh"
        out += [effect, Contrast(name, f"{name}: {own} - accuracy", "equivalence", b.get("fresh", np.nan) - mine, fitted,
                                 condition=rows.condition.iloc[0] if len(rows) else "")]  # fmt: skip
    return out


def ranking(final: pd.DataFrame, timing: pd.DataFrame) -> pd.DataFrame:
    """Per arm (the plain warm start included): the mean paired gap to fresh with its 95% interval,
    and its cost: mean epochs to the stopping threshold and, from ``timing`` (the ``timing`` table),
    mean training seconds per run; best first."""
    f = final[final.experiment == NAME].merge(timing, on="run", how="left")
    out = []
    for name, rows in f.groupby("intervention", sort=False):
        a = arms(rows)
        other = next(c for c in a.columns if c != "fresh")
        m, lo, hi = mean_ci((a["fresh"] - a[other]).dropna())
        mine = rows[rows.arm != "fresh"]
        out.append({"intervention": name, "gap": m, "lo": lo, "hi": hi, "epochs": mine.stop_epoch.mean(), "seconds": mine.seconds.mean()})
    return pd.DataFrame(out).sort_values("gap").reset_index(drop=True)


def notes(tables: dict[str, pd.DataFrame], cfg: dict) -> list[str]:
    """The ranking with each arm's cost, and, per intervention not shown better than the plain warm
    start, whether it is shown *no* better: equivalent to it within the margin (TOST, uncorrected);
    for an architectural arm, its warm and fresh starts against the plain network's fresh start."""
    final, margin = tables["final"], cfg["margin_accuracy"]
    plain = arms(select(final, NAME, intervention="none"))
    variants = {label(a) for a in cfg["arms"] if interventions.REGISTRY[a["name"]].variant}
    out = []
    for x in ranking(final, tables["timing"]).itertuples():
        name = "plain warm start" if x.intervention == "none" else x.intervention
        interval = f"{100 * x.gap:+.2f} [{100 * x.lo:+.2f}, {100 * x.hi:+.2f}]"
        own = "its own fresh start" if x.intervention in variants else "fresh"
        line = f"{name}: gap to {own} {interval} points, {x.epochs:.0f} epochs to the threshold, {x.seconds:.1f} s per run"
        if x.intervention != "none":
            d = (arms(select(final, NAME, intervention=x.intervention))[x.intervention] - plain["warm"]).dropna()
            p = paired_tests(d.to_numpy(), margin)["p_equivalent"]
            if p < 0.05:
                line += f"; equivalent to the plain warm start within ±{100 * margin:g} points (TOST p = {p:.2g}, uncorrected)"
        out.append(line)
    for arm in (a for a in cfg["arms"] if interventions.REGISTRY[a["name"]].variant):  # another network: against the plain one
        own = arms(select(final, NAME, intervention=label(arm)))
        for who, column in (("warm start", label(arm)), ("fresh start", "fresh")):
            m, lo, hi = mean_ci((own[column] - plain["fresh"]).dropna())
            out.append(f"{label(arm)}: its {who} − the plain network's fresh start {100 * m:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] "
                       "points (secondary)")  # fmt: skip
    return out


def by_gap(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Left: each intervention's paired gap to fresh (95% interval), best first, the plain warm
    start's gap as a line, fresh at 0 with the equivalence margin as a band. Right: its cost,
    epochs to the stopping threshold and training seconds per run."""
    r = ranking(tables["final"], tables["timing"])
    y = np.arange(len(r))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 0.35 * len(r) + 1.6), sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    margin = 100 * cfg["margin_accuracy"]
    a.axvspan(-margin, margin, color=COLORS["fresh"], alpha=0.15, lw=0, label="fresh ± margin")
    a.axvline(0, color=COLORS["fresh"], lw=1)
    plain = r[r.intervention == "none"]
    if len(plain):
        a.axvline(100 * plain.gap.iloc[0], color=COLORS["warm"], lw=1, ls="--", label="plain warm start")
    colors = [COLORS["warm"] if n == "none" else ARMS[0] for n in r.intervention]
    for x, yi, c in zip(r.itertuples(), y, colors, strict=True):
        a.errorbar(100 * x.gap, yi, xerr=[[100 * (x.gap - x.lo)], [100 * (x.hi - x.gap)]], fmt="o", color=c, capsize=3, ms=5)
    a.set_yticks(y, ["plain warm start" if n == "none" else n for n in r.intervention], fontsize=8)
    a.invert_yaxis()
    a.set(xlabel="gap to fresh (points): fresh − arm")
    a.legend(fontsize=7, loc="lower right")
    b.barh(y - 0.2, r.epochs, height=0.4, color=ARMS[1], label="epochs to threshold")
    b2 = b.twiny()
    b2.barh(y + 0.2, r.seconds, height=0.4, color=ARMS[2], label="seconds per run")
    b.set(xlabel="epochs to the stopping threshold")
    b2.set(xlabel="training seconds per run")
    b.legend(*[sum(x, []) for x in zip(b.get_legend_handles_labels(), b2.get_legend_handles_labels())], fontsize=7, loc="lower right")
    seeds = n_seeds(tables["final"][tables["final"].experiment == NAME])
    fig.suptitle(f"Interventions at the warm start, fraction {value(cfg['fraction'])} ({seeds} seeds)")
    return fig


DIAGNOSED = ("stable_rank", "effective_rank", "dead_units", "weight_norm", "dist_init", "grad_norm", "hessian_eig1")


def diagnostics(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Per arm (fresh, the plain warm start, each intervention, an architectural arm's own fresh
    start), its diagnosed seeds' final state on training examples the warm start was not pretrained
    on: each quantity of ``DIAGNOSED``, mean and 95% interval."""
    d = tables["diagnostics"]
    d = d[(d.experiment == NAME) & (d.half == "unseen")].copy()
    own = (d.arm == "fresh") & (d.condition != condition(intervention="none"))  # a network's own fresh start
    d["arm"] = d.arm.where(~own, d.condition.str.removeprefix("intervention=") + " (own fresh)")
    variants = [label(a) for a in cfg["arms"] if interventions.REGISTRY[a["name"]].variant]
    order = ["fresh", "warm"] + [label(a) for a in cfg["arms"]] + [f"{v} (own fresh)" for v in variants]
    fig, axes = plt.subplots(1, len(DIAGNOSED), figsize=(2.4 * len(DIAGNOSED), 0.3 * len(order) + 1.6), sharey=True)
    y = np.arange(len(order))
    for ax, q in zip(axes, DIAGNOSED, strict=True):
        s = summarise(d[d.quantity == q], ["arm"], "value").set_index("arm").reindex(order)
        for yi, (arm, x) in zip(y, s.iterrows(), strict=True):
            color = COLORS.get(arm, ARMS[0])
            ax.errorbar(x["mean"], yi, xerr=[[x["mean"] - x["lo"]], [x["hi"] - x["mean"]]], fmt="o", color=color, capsize=3, ms=4)
        ax.set(title=q.replace("_", " "))
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(y, ["plain warm start" if a == "warm" else a for a in order], fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(f"Diagnostics of every arm at its end ({n_seeds(d)} seeds, examples unseen in pretraining)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=110,
    title="Arena of plasticity interventions",
    claims=claims,
    runs=runs,
    contrasts=contrasts,
    figures={
        "arena": Figure(
            by_gap,
            ("final", "timing"),
            "Every intervention's gap to the fresh start (fresh minus the warm start with the intervention, paired by seed, 95% "
            "interval), best first, with the plain warm start's gap (dashed) and fresh ± the equivalence margin (band); right, "
            "its cost: epochs to the stopping threshold and training seconds per run.",
            readme=True,
        ),
        "arena_diagnostics": Figure(
            diagnostics,
            ("diagnostics",),
            "Every arm's final state (fresh, the plain warm start, each intervention) on training examples the warm start was not "
            "pretrained on: stable rank (Kumar et al. 2021) and effective rank of the penultimate features, fraction of dead "
            "units, weight norm, distance from the initialisation, gradient norm and top Hessian eigenvalue; mean and 95% "
            "interval over the diagnosed seeds.",
        ),
    },
    factor=interventions.FIELDS,  # a pair's arms may differ in these, besides parent
    one_parent=True,
    check=check,
    notes=notes,
    words={
        "reproduced": "closes the gap",
        "mixed": "narrows the gap; shown not to close it",
        "partly reproduced": "narrows the gap",
        "not reproduced": "not shown to narrow the gap; a contrast against the claim",
        "inconclusive": "not shown to narrow the gap",
    },
    claim_word="Claim tested",  # not a paper's: one per intervention
    reads=("model",),
)
