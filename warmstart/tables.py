"""The result tables (their columns are a contract: README, "what comes out"), from per-run metrics and the run table's rows.

* ``final``: one row per (experiment, condition, arm, seed). Every tuning run is stopped and read
  by the protocol's rule (``warmstart.protocol``; the run's ``stop``: ``consecutive`` epochs whose
  training data reach ``train_acc`` in eval mode): it is read over its last ``consecutive`` epochs,
  ``read_from`` to ``read_to`` (the epochs that satisfied the rule, or the last as many before its
  cap), and ``final_test_acc`` and ``final_train_acc`` (eval mode) are the means over them;
  ``fit_min`` is the lowest eval-mode training accuracy over them. A run finished at its optimum
  (``warmstart.convex``, split ``optimum``) is read at that epoch. ``stop_epoch`` is the first
  tuning epoch (from 1) whose eval-mode training accuracy reached the threshold (epochs to fit,
  the speed measure; empty if none did); ``fit_start`` the eval-mode training accuracy at the start
  (epoch 0). ``converged``: both arms of the row's pair fit their training data at every epoch
  read (``fit_min`` at the threshold; a convex run: it reached its optimum).
* ``gap``: one row per (experiment, condition) with paired runs: the statistics of
  ``stats.paired_gap`` of fresh against the other arm, paired by seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from warmstart.stats import paired_gap
from warmstart.verdicts import reading

FINAL_COLUMNS = [
    "experiment", "condition", "arm", "seed", "final_test_acc", "final_train_acc", "epochs", "stop_epoch", "read_from", "read_to",
    "fit_min", "fit_start", "converged",
]  # fmt: skip
TIMING_COLUMNS = ["run", "seconds"]
GAP_COLUMNS = ["experiment", "condition", "n", "fresh_mean", "warm_mean", "gap_mean", "gap_ci_low", "gap_ci_high", "p_value"]


def read(path: str | Path) -> pd.DataFrame:
    """A table written by the pipeline, its floats read back exactly (pandas writes the shortest
    form that round-trips; pandas 3 parses it exactly by default, pandas 2 only when asked)."""
    return pd.read_csv(path, **({} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}))


def read_out(metrics: pd.DataFrame, stops: dict[str, dict]) -> pd.DataFrame:
    """Per run of ``stops`` (run -> its rule ``{train_acc, consecutive}``): the epochs read, the mean
    test and eval-mode training accuracy over them, ``fit_min``, ``stop_epoch``, ``fit_start``,
    ``epochs`` and ``fitted`` (module docstring)."""
    runs = list(stops)
    m = metrics[metrics.run.isin(runs)]
    tuned = m[m.epoch > 0]
    optimum = tuned[tuned.split == "optimum"].set_index("run")
    last = tuned.groupby("run").epoch.max().reindex(runs)
    k = pd.Series({r: 1 if r in optimum.index else stops[r]["consecutive"] for r in runs})
    read_from = (last - k + 1).clip(lower=1)
    lo, hi = tuned.run.map(read_from), tuned.run.map(last)
    read = tuned[(tuned.epoch >= lo) & (tuned.epoch <= hi)]
    acc = read.pivot_table(index="run", columns="split", values="acc", aggfunc="mean").reindex(runs)
    fit = read[read.split == "train_eval"].groupby("run").acc.min().reindex(runs)
    threshold = pd.Series({r: stops[r]["train_acc"] for r in runs})
    curve = tuned[tuned.split == "train_eval"]
    first = curve[curve.acc >= curve.run.map(threshold)].groupby("run").epoch.min().reindex(runs)
    start = m[(m.epoch == 0) & (m.split == "train")].set_index("run").acc.reindex(runs)
    fitted = fit >= threshold
    out = pd.DataFrame({"final_test_acc": acc.get("test"), "final_train_acc": acc.get("train_eval"), "epochs": last,
                        "stop_epoch": first, "read_from": read_from, "read_to": last, "fit_min": fit, "fit_start": start,
                        "fitted": fitted})  # fmt: skip
    if len(optimum):  # a convex run finished by L-BFGS: fitted when it reached its optimum, and that is its stop
        out.loc[optimum.index, "fitted"] = optimum.acc == 1
        out.loc[optimum.index, "stop_epoch"] = optimum.epoch.where(optimum.acc == 1)
    return out


def final_table(rows: list[dict], metrics: pd.DataFrame, stops: dict[str, dict]) -> pd.DataFrame:
    """The ``final`` table: the rows of the run table joined with their runs' read-out (``read_out``;
    ``stops`` maps every run to its rule) and the pair's convergence (a row is ``converged`` when
    both arms of its pair are fitted where read). Results only: a run's cost is in ``timing_table``."""
    rows_df = pd.DataFrame(rows)
    missing = sorted(set(rows_df.run) - set(stops))
    if missing:
        raise ValueError(f"run {missing[0]}: a tuning run needs the protocol's stopping rule to be read")
    per_run = read_out(metrics, {r: stops[r] for r in dict.fromkeys(rows_df.run)})
    out = rows_df.join(per_run, on="run")
    out["converged"] = out.fitted.astype(bool).groupby([out.experiment, out.condition, out.seed]).transform("all")
    params = [c for c in rows_df.columns if c not in FINAL_COLUMNS]
    for c in ("epochs", "read_from", "read_to"):
        out[c] = out[c].astype("Int64")
    return out[FINAL_COLUMNS + params]


def timing_table(seconds: dict[str, float]) -> pd.DataFrame:
    """The ``timing`` table: per run, its training seconds (``run, seconds``; its shard's time shared
    equally by the shard's seeds). A cost, not a result: it depends on the machine and its load,
    so it is kept out of the result tables."""
    return pd.DataFrame({"run": list(seconds), "seconds": list(seconds.values())}, columns=TIMING_COLUMNS).sort_values("run")


def fitted_share(final: pd.DataFrame) -> tuple[int, int]:
    """Pairs (condition, seed) of ``final``'s rows converged, out of all pairs whose arms are two
    runs (a chain's first round pairs a run with itself: no pair)."""
    keys = ["experiment", "condition", "seed"]
    two = final.groupby(keys).run.transform("nunique") > 1 if "run" in final else pd.Series(True, index=final.index)
    pairs = final[two].drop_duplicates(keys)
    return int(pairs.converged.sum()), len(pairs)


def gap_table(final: pd.DataFrame, contrasts: pd.DataFrame | None = None, margin: float = 0.005) -> pd.DataFrame:
    """The ``gap`` table: per (experiment, condition), fresh minus the other arm, paired by seed
    (``stats.paired_gap``: Student-t 95% interval, paired t-test); the condition's parameter
    columns; ``p_holm``, the Holm-adjusted paired-t p of the primary effect contrast that is this
    condition's gap, and ``p_equivalent_holm``, the Holm-adjusted TOST p of the primary
    equivalence contrast that is (each empty otherwise: one column per meaning); and ``reading``,
    this row alone read by
    ``verdicts.reading`` with the equivalence ``margin`` (accuracy, a fraction)."""
    params = [c for c in final.columns if c not in FINAL_COLUMNS and c not in ("run", "parent")]
    holm: dict[tuple, dict] = {}
    for r in [] if contrasts is None else contrasts[contrasts.condition.fillna("") != ""].itertuples():
        holm[(r.experiment, r.condition)] = {"p_holm": r.p_effect_holm, "p_equivalent_holm": r.p_equivalent_holm}
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
        ps = holm.get((exp, cond), {"p_holm": None, "p_equivalent_holm": None})
        records.append({"experiment": exp, "condition": cond} | stats95 | values | ps | {"reading": read})
    out = pd.DataFrame(records, columns=GAP_COLUMNS + params + ["p_holm", "p_equivalent_holm", "reading"])
    return out.drop(columns=[c for c in params if out[c].isna().all()])


def runs_table(runs: list[dict], protocols: dict[str, str | None] | None = None) -> pd.DataFrame:
    """The run table as written to ``runs.csv``: id, parent, the full parameters as JSON, and the
    protocol hash the run was trained under (its ``provenance.json``; ``protocols``: run -> hash)."""
    protocols = protocols or {}
    return pd.DataFrame(
        {
            "run": [r["id"] for r in runs],
            "parent": [r["parent"] or "" for r in runs],
            "spec": [json.dumps(r, sort_keys=True) for r in runs],
            "protocol_hash": [protocols.get(r["id"]) or "" for r in runs],
        }  # fmt: skip
    )


DIAGNOSTICS_COLUMNS = ["experiment", "condition", "arm", "seed", "run", "epoch", "half", "quantity", "value"]


def diagnostics_table(rows: pd.DataFrame, targets: list[dict]) -> pd.DataFrame:
    """``diagnostics.csv``: one row per (target, epoch, half, quantity), with the target's
    experiment, condition, arm and seed; ``half`` is ``seen`` (examples of the pretraining subset)
    or ``unseen``. A run diagnosed for two experiments (the arena's plain warm start, at its end; the
    fraction experiment's, along its tuning) appears under each at the epochs that one asked for."""
    keys = pd.DataFrame(targets)[["experiment", "condition", "arm", "seed", "run", "epochs"]].explode("epochs")
    keys = keys.rename(columns={"epochs": "epoch"}).astype({"epoch": int})
    return keys.merge(rows, on=["run", "epoch"])[DIAGNOSTICS_COLUMNS]
