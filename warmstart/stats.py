"""Paired statistics of the warm-start gap."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def paired_gap(fresh: np.ndarray, warm: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean paired gap ``fresh - warm`` (one difference per seed), its two-sided ``level``
    Student-t confidence interval, and the p-value of the two-sided paired t-test of a zero
    mean gap (equivalently ``scipy.stats.ttest_rel``). With one seed the interval and p are NaN;
    with identical differences the interval has zero width and p is 0 (or 1 for a zero gap)."""
    fresh, warm = np.asarray(fresh, float), np.asarray(warm, float)
    d = fresh - warm
    n = len(d)
    out = {"n": n, "fresh_mean": fresh.mean(), "warm_mean": warm.mean(), "gap_mean": d.mean()}
    if n < 2:
        return out | {"gap_ci_low": math.nan, "gap_ci_high": math.nan, "p_value": math.nan}
    se = d.std(ddof=1) / math.sqrt(n)
    if se <= 1e-12 * max(1.0, abs(d.mean())):
        se = 0.0
    half = stats.t.ppf(0.5 + level / 2, n - 1) * se
    if se == 0:  # identical differences: no sampling spread at all
        p = 1.0 if d.mean() == 0 else 0.0
    else:
        p = float(2 * stats.t.sf(abs(d.mean() / se), n - 1))
    return out | {"gap_ci_low": d.mean() - half, "gap_ci_high": d.mean() + half, "p_value": p}


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``x`` and its Student-t ``level`` interval (NaN half-width for one value)."""
    x = np.asarray(x, float)
    if len(x) < 2:
        return x.mean(), math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean(), x.mean() - half, x.mean() + half
