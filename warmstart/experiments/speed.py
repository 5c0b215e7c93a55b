"""Tuning speed when the early units are kept (Berariu et al. 2021, appendix Fig. 11).

Runs: per seed, warm starts that keep the first k units of the pretrained model and reset the
others (``mode`` as in ``reset``), the plain warm start (all units kept) and fresh. Speed is epochs
to fit: the first tuning epoch, counted from 1, whose eval-mode training accuracy reaches the
protocol's threshold (``final.csv``'s ``stop_epoch``), read on training data only. Primary
contrasts: a positive control, the plain warm start fitting sooner than fresh (a claim of "no
speed-up" means little if the measurement cannot see the speed-up a warm start gives; it can fail:
a warm start that fits no sooner leaves it unsupported), and, per configured k, the epochs of the
kept-units start minus fresh, claimed equivalent within the epoch margin. A contrast is "not
converged" when a run did not fit within its cap, or when an arm already met the threshold at its
start (then its speed says nothing).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from warmstart.experiments.base import Experiment, Figure, arms, model_setting, select
from warmstart.interventions.reset import reset_path
from warmstart.plotting import COLORS, CYCLE, band, n_seeds
from warmstart.runs import RunTable
from warmstart.stats import mean_ci
from warmstart.units import unit_names
from warmstart.verdicts import Contrast

NAME = "speed"


def runs(t: RunTable, cfg: dict) -> None:
    s = model_setting(t, cfg)
    units = unit_names(s.model["name"], s.model["depth"])
    for seed in t.seeds(cfg):
        pre, fresh = t.pretrain(s, cfg["fraction"], seed), t.fresh(s, seed)
        warms = {len(units): t.warm(s, pre, seed)}
        for k in cfg["keep_first"]:
            reset = units[k:]
            warms[k] = t.warm(s, pre, seed, path=reset_path("+".join(reset), cfg["mode"]), reset=reset, reset_mode=cfg["mode"])
        for k, warm in warms.items():
            t.pair(NAME, seed, warm, fresh, keep_first=k)
        t.draw(fresh, *warms.values())  # the figure's training curves


def _epochs(rows: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, bool]:
    """Epochs to fit per seed and arm, and whether every run fitted within its cap without having
    met the threshold at its start."""
    e = arms(rows, "stop_epoch")
    return e, bool(len(rows) and rows.stop_epoch.notna().all() and (rows.fit_start < threshold).all())


def contrasts(tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    final = tables["final"]
    speed = final[final.experiment == NAME]
    th = cfg["fit_threshold"]
    plain, reached = _epochs(select(final, NAME, keep_first=int(speed.keep_first.max())), th)
    out = [Contrast("main", "positive control: epochs to fit, fresh - plain warm (warm is faster)", "control",
                    plain["fresh"] - plain["warm"], reached, unit="epochs")]  # fmt: skip
    for k in cfg["keep_first"]:
        e, reached = _epochs(select(final, NAME, keep_first=k), th)
        out.append(Contrast("main", f"keep first {k}: epochs warm - fresh", "equivalence", e["warm"] - e["fresh"], reached, unit="epochs"))
    return out


def curves(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Eval-mode training accuracy against tuning epoch when the first k units are kept (the rest
    reset), against fresh and plain warm; right, epochs to fit (appendix Fig. 11)."""
    metrics, threshold = tables["metrics"], cfg["fit_threshold"]
    f = tables["final"][tables["final"].experiment == NAME]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    lines = [("fresh", f[f.arm == "fresh"].drop_duplicates("run"), COLORS["fresh"])]
    ks = sorted(f.keep_first.unique())
    for i, k in enumerate(ks):
        label = "plain warm (keep all)" if k == max(ks) else f"keep first {int(k)}"
        lines.append((label, f[(f.arm == "warm") & (f.keep_first == k)], COLORS["warm"] if k == max(ks) else CYCLE[i % len(CYCLE)]))
    for label, rows, color in lines:
        m = metrics[metrics.run.isin(rows.run) & (metrics.split == "train_eval")].pivot(index="epoch", columns="run", values="acc")
        band(a, m, 0, color, label)
    a.axhline(threshold, color="k", lw=0.6, ls="--")
    a.set(xlabel="tuning epoch", ylabel="training accuracy (eval mode)", title="tuning curves")
    a.legend(fontsize=7)
    stats = [mean_ci(c[1].stop_epoch.dropna()) for c in lines]
    b.bar(range(len(lines)), [s[0] for s in stats], yerr=[[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]], capsize=3,
          color=[c[2] for c in lines])  # fmt: skip
    b.set_xticks(range(len(lines)), [c[0].replace(" (", "\n(") for c in lines], fontsize=7)
    b.set(ylabel=f"epochs to training accuracy {threshold:g}", title="speed")
    fig.suptitle(f"Tuning speed when early units are kept ({n_seeds(f)} seeds)")
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=70,
    title="Tuning speed when early units are kept",
    claims={
        "main": "Keeping the first 1-2 units and resetting the rest gives no noticeable speed-up of tuning over a fresh start "
        "(Berariu et al. 2021, appendix Fig. 11)."
    },
    runs=runs,
    contrasts=contrasts,
    figures={
        "speed": Figure(
            curves,
            ("metrics", "final"),
            "Training accuracy (eval mode, on the full training set) against tuning epoch when the first k units of the pretrained "
            "model are kept and the others reset, against the plain warm start and fresh; right, epochs to fit (the first epoch at "
            "the protocol's threshold, counted from 1), mean and 95% interval (Berariu et al. 2021, appendix Fig. 11).",
        )
    },
    factor=frozenset({"reset", "reset_mode"}),  # the run fields in which a pair's arms may differ, besides parent
    one_parent=True,
)
