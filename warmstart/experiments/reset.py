"""Resetting units after pretraining (Berariu et al. 2021, Fig. 6).

Runs: per seed, warm starts with every suffix of the model's units re-initialised (or the sets of
the config), in ``mode`` ``resample`` (a new draw from the initialisation distribution, the
paper's) or ``restore`` (the run's own initial values), and with ``compare_modes`` in the other
mode too, shown beside it. Primary contrasts, in ``mode``: the gap after resetting the fewest
units (claimed: still a gap, "not enough") and the gap after resetting the largest set short of
all units (claimed: equivalent to fresh within the margin, "recovers").
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart.experiments.base import Experiment, Figure, gap, model_setting, select
from warmstart.interventions.reset import reset_path
from warmstart.plotting import COLORS, CYCLE, fresh_band, n_seeds, summarise, yerr
from warmstart.runs import RunTable
from warmstart.units import unit_names

NAME = "reset"


def reset_sets(t: RunTable, cfg: dict) -> list[list[str]]:
    """The sets of units reset: the config's, else every suffix of the model's units, all last."""
    s = model_setting(t, cfg)
    units = unit_names(s.model["name"], s.model["depth"])
    return cfg.get("sets") or [units[i:] for i in range(len(units) - 1, -1, -1)]


def modes(cfg: dict) -> list[str]:
    """The reset modes run: ``mode`` first, then the other one if ``compare_modes``."""
    return [cfg["mode"]] + [m for m in ("resample", "restore") if m != cfg["mode"] and cfg.get("compare_modes")]


def runs(t: RunTable, cfg: dict) -> None:
    s = model_setting(t, cfg)
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair(NAME, seed, t.warm(s, pre, seed), t.fresh(s, seed), reset="none", reset_mode="none")
        for mode in modes(cfg):
            for reset in reset_sets(t, cfg):
                name = "+".join(reset)
                warm = t.warm(s, pre, seed, path=reset_path(name, mode), reset=list(reset), reset_mode=mode)
                t.pair(NAME, seed, warm, t.fresh(s, seed), reset=name, reset_mode=mode)


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final, mode = tables["final"], cfg["mode"]
    rows = final[(final.experiment == NAME) & (final.reset_mode == mode)]
    sets = list(dict.fromkeys(rows.reset))
    size = {r: r.count("+") + 1 for r in sets}
    full = max(size.values(), default=0)
    partial = sorted((r for r in sets if size[r] < full), key=size.get)
    if not partial:
        return []
    few, most = partial[0], partial[-1]
    out = [gap("main", f"reset {few} (few units): still a gap", select(final, NAME, reset=few, reset_mode=mode))]
    if most != few:
        most_rows = select(final, NAME, reset=most, reset_mode=mode)
        out.append(gap("main", f"reset {most} (most units): recovers fresh", most_rows, kind="equivalence"))
    return out


def by_set(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Final test accuracy per set of re-initialised units, one bar per mode (re-sampled or
    restored), fresh as a band, the plain warm start as the first bar (Fig. 6)."""
    f = tables["final"][tables["final"].experiment == NAME]
    order = list(dict.fromkeys(f.reset))
    ms = modes(cfg)
    s = summarise(f[f.arm == "warm"], ["reset", "reset_mode"]).set_index(["reset", "reset_mode"])
    fig, ax = plt.subplots(figsize=(1.2 * len(order) + 2.5, 3.4))
    fresh_band(ax, f)
    width = 0.8 / len(ms)
    labels = {"resample": "re-sampled from the init distribution", "restore": "restored to their initial values"}
    for i, mode in enumerate(ms):
        keys = [(r, "none" if r == "none" else mode) for r in order]
        x = s.loc[keys]
        pos = [j + (i - (len(ms) - 1) / 2) * width if r != "none" else j for j, r in enumerate(order)]
        colors = [COLORS["warm"] if r == "none" else CYCLE[2 * i] for r in order]
        ax.bar(pos, x["mean"], width=width * 0.9, yerr=yerr(x), capsize=3, color=colors, label=f"units {labels[mode]}"
               + (" (primary)" if mode == cfg["mode"] else ""))  # fmt: skip
    ax.set_xticks(range(len(order)), [r.replace("+", "\n") if r != "none" else "none\n(plain warm)" for r in order], fontsize=7)
    fresh = f[f.arm == "fresh"].drop_duplicates("run").final_test_acc
    ax.set_ylim(min(s["lo"].min(), s["mean"].min(), fresh.min()) - 0.02, max(s["hi"].max(), s["mean"].max(), fresh.max()) + 0.01)
    ax.set(xlabel="units re-initialised after pretraining", ylabel="final test accuracy")
    ax.legend(fontsize=7)
    fig.suptitle(f"Resetting units after pretraining ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=60,
    title="Resetting units after pretraining",
    claims={
        "main": "Re-initialising the last unit(s) is not enough; resetting most of the network (the last 4-5 of 6 units) "
        "recovers the accuracy of the fresh model (Berariu et al. 2021, Fig. 6)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "reset": Figure(
            by_set,
            ("final",),
            "Final test accuracy when a set of units is re-initialised after pretraining, re-sampled from the initialisation "
            "distribution (the paper's) or restored to the run's own initial values (the legend says which is the primary), "
            "against the plain warm start and the fresh start (band) (Berariu et al. 2021, Fig. 6).",
        )
    },
    factor=frozenset({"reset", "reset_mode"}),  # the run fields in which a pair's arms may differ, besides parent
    one_parent=True,
)
