"""The result tables of design.md's contract, from per-run metrics and the run table's rows.

* ``final``: one row per (experiment, condition, arm, seed): ``final_test_acc`` and
  ``final_train_acc`` are the mean accuracy over the last ``window`` epochs of the tuning run, or,
  for a run with a stopping rule (``stop``: ``after`` epochs past the first epoch whose training
  data reached ``train_acc`` in eval mode; Ash & Adams' Table 1 with ``after`` 0), the mean over
  those ``after`` epochs (the accuracy at the stop when 0), and a capped run's last as many.
  ``stop_epoch`` is the first epoch whose training accuracy (eval mode where measured, split
  ``train_eval``, else the epoch's running mean) reached the run's threshold (its ``stop``, else
  ``converged_at``; empty if none did); ``converged`` says that both arms of the row's pair
  reached it, a fixed-length run before its final window; a run trained to its optimum
  (``warmstart.convex``, split ``optimum``) is converged when it reached it, at that epoch.
* ``gap``: one row per (experiment, condition) with paired runs: the statistics of
  ``stats.paired_gap`` of fresh against the other arm, paired by seed.
"""

from __future__ import annotations

import json

import pandas as pd

from warmstart.stats import paired_gap
from warmstart.verdicts import reading

FINAL_COLUMNS = ["experiment", "condition", "arm", "seed", "final_test_acc", "final_train_acc", "epochs", "stop_epoch", "converged"]
GAP_COLUMNS = ["experiment", "condition", "n", "fresh_mean", "warm_mean", "gap_mean", "gap_ci_low", "gap_ci_high", "p_value"]


def final_accuracy(metrics: pd.DataFrame, window: int, stops: dict[str, dict] | None = None) -> pd.DataFrame:
    """Per run: mean train and test accuracy over its last ``window`` epochs (for a run in
    ``stops``, over its last ``max(after, 1)`` epochs), and its epochs."""
    m = metrics[metrics.epoch > 0]
    last_epoch = m.groupby("run").epoch.transform("max")
    span = m.run.map({r: max(s["after"], 1) for r, s in (stops or {}).items()}).fillna(window)
    last = m[m.epoch > last_epoch - span]
    acc = last.pivot_table(index="run", columns="split", values="acc", aggfunc="mean")
    out = pd.DataFrame({"final_test_acc": acc["test"], "final_train_acc": acc["train"]})
    return out.join(m.groupby("run").epoch.max().rename("epochs"))


def convergence(metrics: pd.DataFrame, window: int, stops: dict[str, dict], converged_at: float) -> pd.DataFrame:
    """Per run: ``stop_epoch``, the first epoch whose training accuracy (``train_eval`` where the
    run measured it, else ``train``) reached the run's threshold (its ``stops[run]["train_acc"]``,
    else ``converged_at``), and ``converged``: it did, and a fixed-length run did so before its
    final ``window``."""
    m = metrics[metrics.epoch > 0]
    measured = set(m.run[m.split == "train_eval"])
    train = m[(m.split == "train_eval") | (m.split == "train") & ~m.run.isin(measured)]
    threshold = train.run.map({r: s["train_acc"] for r, s in stops.items()}).fillna(converged_at)
    stop = train[train.acc >= threshold].groupby("run").epoch.min().reindex(train.run.unique())
    last = train.groupby("run").epoch.max()
    limit = pd.Series({r: last[r] if r in stops else last[r] - window for r in last.index})
    out = pd.DataFrame({"stop_epoch": stop, "converged": stop.le(limit.reindex(stop.index))})
    optimum = m[m.split == "optimum"].set_index("run")  # a convex run finished by L-BFGS: converged when it reached its optimum
    out.loc[optimum.index, "stop_epoch"] = optimum.epoch.where(optimum.acc == 1)
    out.loc[optimum.index, "converged"] = optimum.acc == 1
    return out


def epochs_to_threshold(metrics: pd.DataFrame, threshold: float) -> pd.Series:
    """Per run: the first epoch whose test accuracy reaches ``threshold`` (NaN if none does)."""
    test = metrics[(metrics.split == "test") & (metrics.acc >= threshold)]
    return test.groupby("run").epoch.min().reindex(metrics.run.unique())


def final_table(
    rows: list[dict],
    metrics: pd.DataFrame,
    window: int,
    thresholds: dict[str, float] | None = None,
    stops: dict[str, dict] | None = None,
    converged_at: float = 0.99,
    seconds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The ``final`` table: the rows of the run table joined with their runs' final accuracies and
    convergence (``stops`` maps runs with a stopping rule to it; a row is ``converged`` when both
    arms of its pair are), for experiments with a speed ``thresholds[experiment]``,
    ``epochs_to_threshold``, and, given ``seconds`` (run -> training seconds), a ``seconds`` column:
    a cost, not a result (it depends on the machine)."""
    stops = stops or {}
    rows_df = pd.DataFrame(rows)
    per_run = final_accuracy(metrics, window, stops).join(convergence(metrics, window, stops, converged_at))
    out = rows_df.join(per_run, on="run")
    out["converged"] = out.groupby(["experiment", "condition", "seed"]).converged.transform("all")
    params = [c for c in rows_df.columns if c not in FINAL_COLUMNS]
    if thresholds:
        out["epochs_to_threshold"] = float("nan")
        for exp, th in thresholds.items():
            mask = out.experiment == exp
            out.loc[mask, "epochs_to_threshold"] = out.loc[mask, "run"].map(epochs_to_threshold(metrics, th))
        params.append("epochs_to_threshold")
    if seconds is not None:
        out["seconds"] = out.run.map(seconds)
        params.append("seconds")
    return out[FINAL_COLUMNS + params]


def gap_table(final: pd.DataFrame, contrasts: pd.DataFrame | None = None, margin: float = 0.005) -> pd.DataFrame:
    """The ``gap`` table: per (experiment, condition), fresh minus the other arm, paired by seed
    (``stats.paired_gap``: Student-t 95% interval, paired t-test); the condition's parameter
    columns; ``p_holm``, the Holm-adjusted p of the primary contrast that is this condition's gap
    (empty for secondary conditions); and ``reading``, this row alone read by
    ``verdicts.reading`` with the equivalence ``margin`` (accuracy, a fraction)."""
    params = [c for c in final.columns if c not in FINAL_COLUMNS and c not in ("run", "parent", "epochs_to_threshold", "seconds")]
    holm = {} if contrasts is None else {(r.experiment, r.condition): r.p_holm for r in contrasts.itertuples() if r.condition}
    records = []
    for (exp, cond), g in final.groupby(["experiment", "condition"], sort=False):
        arms = g.pivot(index="seed", columns="arm", values="final_test_acc")
        others = [a for a in arms.columns if a != "fresh"]
        if "fresh" not in arms or len(others) != 1:
            continue
        paired = arms[["fresh", others[0]]].dropna()
        stats95 = paired_gap(paired["fresh"], paired[others[0]])
        stats90 = paired_gap(paired["fresh"], paired[others[0]], level=0.90)
        read = reading(stats95["gap_ci_low"], stats95["gap_ci_high"], stats90["gap_ci_low"], stats90["gap_ci_high"], margin)
        values = g.iloc[0][params].dropna().to_dict()
        records.append({"experiment": exp, "condition": cond} | stats95 | values | {"p_holm": holm.get((exp, cond)), "reading": read})
    out = pd.DataFrame(records, columns=GAP_COLUMNS + params + ["p_holm", "reading"])
    return out.drop(columns=[c for c in params if out[c].isna().all()])


def runs_table(runs: list[dict]) -> pd.DataFrame:
    """The run table as written to ``runs.csv``: id, parent and the full parameters as JSON."""
    return pd.DataFrame(
        {"run": [r["id"] for r in runs], "parent": [r["parent"] or "" for r in runs], "spec": [json.dumps(r, sort_keys=True) for r in runs]}
    )


# Ash & Adams 2020, Table 1 (random init / warm start, test accuracy in %), and the independent
# reproduction of Kireev et al. (ReScience 2021, 5 seeds), as quoted in the project's brief.
PUBLISHED = {
    ("cifar10", "resnet", "sgd"): (56.2, 51.7, 60.3, 57.8),
    ("cifar10", "resnet", "adam"): (78.0, 74.4, 80.3, 79.0),
    ("cifar10", "mlp", "sgd"): (39.0, 37.4, None, None),
    ("cifar10", "mlp", "adam"): (39.4, 36.1, None, None),
    ("cifar100", "resnet", "sgd"): (18.2, 15.5, None, None),
    ("cifar100", "resnet", "adam"): (41.4, 35.0, None, None),
    ("svhn", "resnet", "sgd"): (89.4, 87.5, None, None),
    ("svhn", "resnet", "adam"): (93.6, 93.5, None, None),
    ("svhn", "mlp", "adam"): (76.7, 69.4, None, None),
}
TABLE1_COLUMNS = [
    "dataset",
    "model",
    "optimizer",
    "n",
    "fresh",
    "warm",
    "gap",
    "gap_ci",
    "p",
    "paper_fresh",
    "paper_warm",
    "kireev_fresh",
    "kireev_warm",
]


def table1(gap: pd.DataFrame) -> pd.DataFrame:
    """Ash & Adams Table 1 as measured here (in %, from ``gap.csv``), next to the published numbers."""
    out = []
    for r in gap[gap.experiment == "table1"].itertuples():
        pub = PUBLISHED.get((r.dataset, r.model, r.optimizer), (None,) * 4)
        out.append(
            [r.dataset, r.model, r.optimizer, r.n, 100 * r.fresh_mean, 100 * r.warm_mean, 100 * r.gap_mean,
             f"[{100 * r.gap_ci_low:.1f}, {100 * r.gap_ci_high:.1f}]", r.p_value, *pub]
        )  # fmt: skip
    return pd.DataFrame(out, columns=TABLE1_COLUMNS)


def table1_markdown(t: pd.DataFrame) -> str:
    head = "| data set | model | optimiser | n | fresh | warm | gap [95% CI] | p | paper fresh / warm | Kireev et al. fresh / warm |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    pair = lambda a, b: "–" if pd.isna(a) else f"{a:.1f} / {b:.1f}"  # noqa: E731
    for r in t.itertuples():
        lines.append(
            f"| {r.dataset} | {r.model} | {r.optimizer} | {r.n} | {r.fresh:.1f} | {r.warm:.1f} | {r.gap:.1f} {r.gap_ci} | {r.p:.3g} | "
            f"{pair(r.paper_fresh, r.paper_warm)} | {pair(r.kireev_fresh, r.kireev_warm)} |"
        )
    note = (
        "\nAccuracies (%) at the epoch each run first reached its training-accuracy threshold, or at its epoch cap; "
        "`final.csv`'s `converged` says whether both arms reached it.\n"
    )
    return "\n".join(lines) + "\n" + note


def table1_latex(t: pd.DataFrame) -> str:
    rows = [
        f"{r.dataset} & {r.model} & {r.optimizer} & {r.fresh:.1f} & {r.warm:.1f} & {r.gap:.1f} {r.gap_ci} & "
        f"{'--' if pd.isna(r.paper_fresh) else f'{r.paper_fresh:.1f} / {r.paper_warm:.1f}'} \\\\"
        for r in t.itertuples()
    ]
    head = (
        "\\begin{tabular}{lllrrll}\n\\toprule\n"
        "data set & model & optimiser & fresh & warm & gap [95\\% CI] & paper (fresh / warm) \\\\\n\\midrule"
    )
    return head + "\n" + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n"


DIAGNOSTICS_COLUMNS = ["experiment", "condition", "arm", "seed", "run", "epoch", "half", "quantity", "value"]


def diagnostics_table(rows: pd.DataFrame, targets: list[dict]) -> pd.DataFrame:
    """``diagnostics.csv``: one row per (run, epoch, half, quantity), with the run's experiment,
    condition, arm and seed; ``half`` is ``seen`` (examples of the pretraining subset) or ``unseen``."""
    keys = pd.DataFrame(targets)[["experiment", "condition", "arm", "seed", "run"]]
    return keys.merge(rows, on="run")[DIAGNOSTICS_COLUMNS]
