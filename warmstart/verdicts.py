"""The verdict rules: pre-declared primary contrasts, one Holm family per experiment, equivalence
tests, and built-in identity checks.

Each experiment declares, before any data, the claims of the paper it tests and, for each claim,
its **primary contrasts** (``Contrast``): a per-seed paired difference oriented so that the
paper's claim reads as one of

* ``effect``: the mean difference is positive ("warm is worse": fresh - warm > 0);
* ``equivalence``: the mean difference lies within ``± margin`` ("no gap", "recovers the fresh
  accuracy", "no speed-up"), with the margin declared in the protocol;
* ``control``: tested as an effect, but a positive control rather than a part of the claim (a
  warm start is faster than fresh: without it, "keeping units gives no speed-up" says nothing);
* ``check``: an exact identity that holds by construction (a full reset restored to its initial
  values *is* the fresh run; a convex problem finished at its optimum): asserted, every seed's
  difference within the protocol's ``check_tolerance``, and shown as a check. It is no finding:
  it is outside every Holm family, every claim's verdict and every confirmation count.

``judge`` tests every contrast of one experiment (``stats.paired_tests``) and makes **one decision
per contrast** with **one Holm family** covering both directions: an effect (or control)
contributes its two-sided paired-t p (``p_effect``; its sign then says which way), an equivalence
its TOST p (``p_equivalent``) and its "beyond the margin" p (``p_beyond``); Holm over all of them
bounds the chance of rejecting any true null hypothesis of the experiment by alpha. (That the sign
of a two-sided Holm rejection is also right with probability 1 - alpha is proven for independent
tests, Shaffer 1980; contrasts that share a fresh run are correlated, where it is not proven.) A
contrast is

* **supported**: an effect (or control) whose Holm-adjusted p is below alpha with a positive mean,
  or an equivalence whose Holm-adjusted TOST p is below alpha (its 1 - 2 alpha' interval inside the
  margin, alpha' the level Holm leaves it: a wider interval than the 90% one shown);
* **against**: an effect significant with a negative mean, or an equivalence whose Holm-adjusted
  ``p_beyond`` is below alpha (its mean significantly outside the margin);
* **inconclusive** otherwise: an interval that merely contains 0 supports nothing;
* **not converged**: its arms did not both fit their training data where read; it is shown, left
  out of the family, and gets no verdict.

A claim's ``verdict`` is *reproduced* when all its contrasts are supported; *mixed* when at least
one **effect** is supported and some contrast is against (the evidence points both ways: no word
that reads as partial success may hide a contrast against the claim); *partly reproduced* when at
least one effect is supported and none is against (an equivalence alone is no positive finding:
with no effect anywhere, "no difference" is what noise gives; nor is a control); *not reproduced*
when no effect is supported and some contrast is against; *inconclusive* otherwise; *not
converged* when no contrast could be tested. A claim without an effect or a control is *inconclusive*, so with no effect anywhere the
chance of *reproduced*, *mixed* or *partly reproduced* is at most alpha (Holm's family-wise error
rate).
Intervals: 95% for effects and controls, 90% for equivalences (the one TOST at alpha 0.05 decides
on before Holm's adjustment; the decision is the adjusted p's), each row saying its ``ci_level``.
A check passes when every value is within the tolerance (plus 1e-6, the rounding of accuracies
stored in float32: one test example in a thousand is 0.001 up to it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from warmstart.stats import holm, paired_tests

KINDS = ("effect", "control", "equivalence", "check")
CONTRAST_COLUMNS = [
    "experiment", "claim", "contrast", "kind", "unit", "condition", "n", "estimate", "ci_level", "ci_low", "ci_high", "margin",
    "p_effect", "p_equivalent", "p_beyond", "p_effect_holm", "p_equivalent_holm", "p_beyond_holm", "converged", "status",
]  # fmt: skip
CHECK_PASSED, CHECK_FAILED = "check passed", "check failed"


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


def judge(
    experiment: str, contrasts: list[Contrast], margins: dict[str, float], alpha: float = 0.05, tolerance: float = 0.001
) -> pd.DataFrame:
    """The rows of ``contrasts.csv`` for one experiment: each contrast's estimate, interval (95%, or
    90% for an equivalence), its p-values by meaning, Holm-adjusted in one family over the
    experiment's converged contrasts, and its status (module docstring); a ``check`` passes when
    every value is within ``tolerance``."""
    rows = []
    for c in contrasts:
        eq, check = c.kind == "equivalence", c.kind == "check"
        v = c.values.dropna().to_numpy(float)
        t = paired_tests(v, margins.get(c.unit, math.nan))
        low, high = (t["ci90_low"], t["ci90_high"]) if eq else (t["ci_low"], t["ci_high"])
        rows.append(
            {
                "experiment": experiment, "claim": c.claim, "contrast": c.name, "kind": c.kind, "unit": c.unit,
                "condition": c.condition, "n": t["n"], "estimate": t["estimate"], "ci_level": 0.90 if eq else 0.95,
                "ci_low": low, "ci_high": high,
                "margin": margins[c.unit] if eq else tolerance if check else math.nan,  # an equivalence needs its unit's margin
                "p_effect": math.nan if eq or check else t["p_effect"],
                "p_equivalent": t["p_equivalent"] if eq else math.nan,
                "p_beyond": t["p_beyond"] if eq else math.nan,
                "converged": bool(c.converged and t["n"] >= (1 if check else 2)),
                "worst": float(np.max(np.abs(v))) if check and len(v) else math.nan,
            }
        )  # fmt: skip
    out = pd.DataFrame(rows, columns=[*CONTRAST_COLUMNS[:-8], "p_effect", "p_equivalent", "p_beyond", "converged", "worst"])
    tested = (out.converged & (out.kind != "check")).to_numpy(bool)
    family = [(i, col) for i in np.flatnonzero(tested) for col in ("p_effect", "p_equivalent", "p_beyond") if not np.isnan(out.at[i, col])]
    for col in ("p_effect_holm", "p_equivalent_holm", "p_beyond_holm"):
        out[col] = math.nan
    for (i, col), p in zip(family, holm(np.array([out.at[i, c] for i, c in family], float)), strict=True):
        out.at[i, f"{col}_holm"] = p
    status = []
    for r in out.itertuples():
        if not r.converged:
            status.append("not converged")
        elif r.kind == "check":
            status.append(CHECK_PASSED if r.worst <= tolerance + 1e-6 else CHECK_FAILED)
        elif r.kind == "equivalence":
            status.append("supported" if r.p_equivalent_holm < alpha else "against" if r.p_beyond_holm < alpha else "inconclusive")
        else:
            status.append(("supported" if r.estimate > 0 else "against") if r.p_effect_holm < alpha else "inconclusive")
    out["status"] = status
    return out[CONTRAST_COLUMNS]


def verdict(rows: pd.DataFrame) -> str:
    """A claim's verdict from its judged contrasts (module docstring); built-in checks take no part."""
    rows = rows[rows.kind != "check"]
    if rows.empty or (rows.kind == "equivalence").all():  # an equivalence alone cannot support a claim
        return "inconclusive"
    tested = rows[rows.status != "not converged"]
    if tested.empty:
        return "not converged"
    if (rows.status == "supported").all():
        return "reproduced"
    effect_found = ((tested.kind == "effect") & (tested.status == "supported")).any()
    against = (tested.status == "against").any()
    if effect_found:
        return "mixed" if against else "partly reproduced"
    return "not reproduced" if against else "inconclusive"


def split_evidence(rows: pd.DataFrame) -> str:
    """The contrasts of a *mixed* claim by direction: ``supported: a, b; against: c``."""
    rows = rows[rows.kind != "check"]
    side = lambda status: ", ".join(rows[rows.status == status].contrast)  # noqa: E731
    return f"supported: {side('supported')}; against: {side('against')}"


def fmt_value(x: float, unit: str) -> str:
    """A number in the unit people read: accuracy in points (%), epochs as epochs."""
    return f"{100 * x:+.2f}" if unit == "accuracy" else f"{x:+.1f}" if unit == "epochs" else f"{x:+.4g}"


def _p(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.2g}"


def describe(row) -> str:
    """One contrast as the summary prints it: name, estimate [interval at its level], its p-values
    after Holm (by meaning), status; a check with its largest difference and tolerance."""
    unit = {"accuracy": " points", "epochs": " epochs"}.get(row.unit, "")
    level = f"{100 * row.ci_level:.0f}%" + (" unadjusted" if row.kind == "equivalence" else "")
    interval = f"{fmt_value(row.estimate, row.unit)} [{level}: {fmt_value(row.ci_low, row.unit)}, {fmt_value(row.ci_high, row.unit)}]{unit}"
    if row.kind == "check":
        tolerance = fmt_value(row.margin, row.unit).lstrip("+")
        return f"{row.contrast} (built-in check, tolerance {tolerance}{unit}): {interval}, n = {row.n} → {row.status}"
    if row.kind == "equivalence":
        test = f"TOST p (Holm) = {_p(row.p_equivalent_holm)}, beyond-margin p (Holm) = {_p(row.p_beyond_holm)}"
        margin = f", margin ±{fmt_value(row.margin, row.unit).lstrip('+')}"
    else:
        test, margin = f"paired-t p (Holm) = {_p(row.p_effect_holm)}", ""
    if pd.isna(row.p_effect_holm) and pd.isna(row.p_equivalent_holm):
        test = "not tested"
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
