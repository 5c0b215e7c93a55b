"""The result tables of design.md's contract, from per-run metrics and the run table's rows.

* ``final``: one row per (experiment, condition, arm, seed): ``final_test_acc`` and
  ``final_train_acc`` are the mean accuracy over the last ``window`` epochs of the tuning run.
* ``gap``: one row per (experiment, condition) with paired runs: the statistics of
  ``stats.paired_gap`` of fresh against the other arm, paired by seed.
"""

from __future__ import annotations

import json

import pandas as pd

from warmstart.stats import paired_gap

FINAL_COLUMNS = ["experiment", "condition", "arm", "seed", "final_test_acc", "final_train_acc", "epochs"]
GAP_COLUMNS = ["experiment", "condition", "n", "fresh_mean", "warm_mean", "gap_mean", "gap_ci_low", "gap_ci_high", "p_value"]


def final_accuracy(metrics: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per run: mean train and test accuracy over its last ``window`` epochs, and its epochs."""
    m = metrics[metrics.epoch > 0]
    last = m[m.epoch > m.groupby("run").epoch.transform("max") - window]
    acc = last.pivot_table(index="run", columns="split", values="acc", aggfunc="mean")
    out = pd.DataFrame({"final_test_acc": acc["test"], "final_train_acc": acc["train"]})
    return out.join(m.groupby("run").epoch.max().rename("epochs"))


def final_table(rows: list[dict], metrics: pd.DataFrame, window: int) -> pd.DataFrame:
    """The ``final`` table: the rows of the run table joined with their runs' final accuracies."""
    rows_df = pd.DataFrame(rows)
    out = rows_df.join(final_accuracy(metrics, window), on="run")
    params = [c for c in rows_df.columns if c not in FINAL_COLUMNS]
    return out[FINAL_COLUMNS + params]


def gap_table(final: pd.DataFrame) -> pd.DataFrame:
    """The ``gap`` table: per (experiment, condition), fresh minus the other arm, paired by seed."""
    records = []
    for (exp, cond), g in final.groupby(["experiment", "condition"], sort=False):
        arms = g.pivot(index="seed", columns="arm", values="final_test_acc")
        others = [a for a in arms.columns if a != "fresh"]
        if "fresh" not in arms or len(others) != 1:
            continue
        paired = arms[["fresh", others[0]]].dropna()
        records.append({"experiment": exp, "condition": cond} | paired_gap(paired["fresh"], paired[others[0]]))
    return pd.DataFrame(records, columns=GAP_COLUMNS)


def runs_table(runs: list[dict]) -> pd.DataFrame:
    """The run table as written to ``runs.csv``: id, parent and the full parameters as JSON."""
    return pd.DataFrame(
        {"run": [r["id"] for r in runs], "parent": [r["parent"] or "" for r in runs], "spec": [json.dumps(r, sort_keys=True) for r in runs]}
    )
