"""The verdict rules: pre-declared primary contrasts, Holm over an experiment, equivalence tests.

Each experiment declares, before any data, the claims of the paper it tests and, for each claim,
its **primary contrasts** (``Contrast``): a per-seed paired difference oriented so that the
paper's claim reads as one of

* ``effect``: the mean difference is positive ("warm is worse": fresh - warm > 0);
* ``equivalence``: the mean difference lies within ``± margin`` ("no gap", "recovers the fresh
  accuracy", "no speed-up"), with the margin declared in the config (``verdicts``);
* ``control``: tested as an effect, but a positive control rather than a part of the claim (a
  warm start is faster than fresh: without it, "keeping units gives no speed-up" says nothing).

``judge`` tests every contrast of one experiment (``stats.paired_tests``) and corrects over them
with Holm. A contrast is

* **supported**: an effect (or control) whose Holm-adjusted two-sided p is below alpha with a positive mean
  (its 95% interval excludes 0 after the correction), or an equivalence whose Holm-adjusted TOST
  p is below alpha (its 90% interval lies inside the margin);
* **against**: an effect significant in the other direction, or an equivalence whose mean lies
  significantly outside the margin (``p_beyond``, Holm over the experiment too);
* **inconclusive** otherwise: an interval that merely contains 0 supports nothing;
* **not converged**: its arms did not both reach the training-accuracy threshold (or the speed
  threshold); it is shown, left out of the tests, and gets no verdict.

A claim's ``verdict`` is *reproduced* when all its contrasts are supported; *partly reproduced*
when at least one **effect** is supported (an equivalence alone is no positive finding: with no
effect anywhere, "no difference" is what noise gives; nor is a control); *not reproduced* when none
is and some contrast is against; *inconclusive* otherwise; *not converged* when no contrast could
be tested. A claim without an effect or a control is *inconclusive*, so with no effect anywhere the
chance of *reproduced* or *partly reproduced* is at most alpha (Holm's family-wise error rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from warmstart.stats import holm, paired_tests

KINDS = ("effect", "control", "equivalence")
CONTRAST_COLUMNS = [
    "experiment", "claim", "contrast", "kind", "unit", "condition", "n", "estimate", "ci_low", "ci_high",
    "margin", "p", "p_holm", "converged", "status",
]  # fmt: skip


@dataclass(frozen=True)
class Contrast:
    """One primary contrast: ``values`` are per-seed paired differences (index: seed) in
    ``unit`` (``accuracy``, a fraction, or ``epochs``); ``condition`` names the ``gap.csv`` row it
    tests when it is that row's gap."""

    claim: str
    name: str
    kind: str
    values: pd.Series
    converged: bool
    unit: str = "accuracy"
    condition: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"contrast {self.name}: kind {self.kind!r} is not one of {KINDS}")


def judge(experiment: str, contrasts: list[Contrast], margins: dict[str, float], alpha: float = 0.05) -> pd.DataFrame:
    """The rows of ``contrasts.csv`` for one experiment: each contrast's estimate, 95% interval,
    its p (two-sided for an effect, TOST for an equivalence), Holm-adjusted over the experiment's
    converged contrasts, and its status (module docstring)."""
    rows = []
    for c in contrasts:
        equivalence = c.kind == "equivalence"
        margin = margins[c.unit] if equivalence else float("nan")  # an equivalence needs its unit's margin
        t = paired_tests(c.values.dropna().to_numpy(), margins.get(c.unit, float("nan")))
        p = t["p_equivalent"] if equivalence else t["p_effect"]
        against = t["p_beyond"] if equivalence else t["p_effect"]
        rows.append(
            {
                "experiment": experiment,
                "claim": c.claim,
                "contrast": c.name,
                "kind": c.kind,
                "unit": c.unit,
                "condition": c.condition,
                "n": t["n"],
                "estimate": t["estimate"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
                "margin": margin,
                "p": p,
                "_against": against,
                "converged": bool(c.converged and t["n"] >= 2),
            }  # fmt: skip
        )
    out = pd.DataFrame(rows, columns=[*CONTRAST_COLUMNS[:-2], "_against", "converged"])
    tested = out.converged.to_numpy(bool) if len(out) else np.zeros(0, bool)
    out["p_holm"] = np.nan
    out.loc[tested, "p_holm"] = holm(out.p[tested].to_numpy())
    against_holm = pd.Series(np.nan, index=out.index)
    against_holm[tested] = holm(out._against[tested].to_numpy())
    effect = out.kind != "equivalence"
    positive = out.estimate > 0
    status = np.where(
        out.p_holm < alpha,
        np.where(effect & ~positive, "against", "supported"),
        np.where((against_holm < alpha) & (~effect | ~positive), "against", "inconclusive"),
    )
    out["status"] = np.where(tested, status, "not converged")
    return out[CONTRAST_COLUMNS]


def verdict(rows: pd.DataFrame) -> str:
    """A claim's verdict from its judged contrasts (module docstring)."""
    if rows.empty or (rows.kind == "equivalence").all():  # an equivalence alone cannot support a claim
        return "inconclusive"
    tested = rows[rows.status != "not converged"]
    if tested.empty:
        return "not converged"
    if (rows.status == "supported").all():
        return "reproduced"
    effect_found = ((tested.kind == "effect") & (tested.status == "supported")).any()
    if effect_found:
        return "partly reproduced"
    if (tested.status == "against").any():
        return "not reproduced"
    return "inconclusive"


def fmt_value(x: float, unit: str) -> str:
    """A number in the unit people read: accuracy in points (%), epochs as epochs."""
    return f"{100 * x:+.2f}" if unit == "accuracy" else f"{x:+.1f}" if unit == "epochs" else f"{x:+.4g}"


def describe(row) -> str:
    """One contrast as the summary prints it: name, estimate [95% CI], Holm p, status."""
    unit = {"accuracy": " points", "epochs": " epochs"}.get(row.unit, "")
    interval = f"{fmt_value(row.estimate, row.unit)} [{fmt_value(row.ci_low, row.unit)}, {fmt_value(row.ci_high, row.unit)}]{unit}"
    test = f"Holm p = {row.p_holm:.2g}" if not np.isnan(row.p_holm) else "not tested"
    margin = f", margin ±{fmt_value(row.margin, row.unit).lstrip('+')}" if row.kind == "equivalence" else ""
    return f"{row.contrast} ({row.kind}{margin}): {interval}, n = {row.n}, {test} → {row.status}"


def reading(low: float, high: float, low90: float | None = None, high90: float | None = None, margin: float | None = None) -> str:
    """One ``gap.csv`` row read alone (no correction): ``gap`` when its 95% interval lies above 0,
    ``reversed`` below 0; else ``equivalent`` when its 90% interval lies inside ``± margin``;
    else ``none`` (the interval contains 0 and is too wide to call it no effect)."""
    if low > 0:
        return "gap"
    if high < 0:
        return "reversed"
    if margin is not None and low90 is not None and -margin < low90 and high90 < margin:
        return "equivalent"
    return "none"
