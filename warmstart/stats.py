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


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): the i-th smallest of m p-values becomes
    ``max_{j<=i} min(1, (m - j + 1) p_(j))``; rejecting where the adjusted p is below alpha
    controls the family-wise error rate at alpha. NaNs stay NaN and are not counted in m."""
    p = np.asarray(p, float)
    out = np.full(p.shape, math.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    order = np.argsort(q)
    m = len(q)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    res = np.empty(m)
    res[order] = adjusted
    out[ok] = res
    return out


def paired_tests(d: np.ndarray, margin: float) -> dict[str, float]:
    """Tests of the mean ``mu`` of paired differences ``d`` (Student t, n - 1 degrees of freedom):

    * ``p_effect``: two-sided test of ``mu = 0`` (the paired t-test);
    * ``p_equivalent``: TOST (Schuirmann 1987), the larger of the one-sided p-values of
      ``mu <= -margin`` and ``mu >= margin``; below alpha exactly when the ``1 - 2 alpha``
      interval lies inside ``(-margin, margin)``;
    * ``p_beyond``: the two one-sided tests of ``mu <= margin`` and ``mu >= -margin``, the smaller
      doubled (Bonferroni): below alpha when the mean lies outside the margin, i.e. the
      difference is too large to be called no effect.

    Also the mean, its two-sided 95% interval and its 90% interval (``ci90_*``, the one TOST at
    alpha 0.05 decides on). With zero spread the tests are exact (0 or 1)."""
    d = np.asarray(d, float)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "estimate": mean, "ci_low": math.nan, "ci_high": math.nan, "ci90_low": math.nan, "ci90_high": math.nan,
                "p_effect": math.nan, "p_equivalent": math.nan, "p_beyond": math.nan}  # fmt: skip
    se = d.std(ddof=1) / math.sqrt(n)
    if se <= 1e-12 * max(1.0, abs(mean)):
        p_eff = float(mean == 0)
        p_eq = 0.0 if abs(mean) < margin else 1.0
        p_bey = 0.0 if abs(mean) > margin else 1.0
        return {"n": n, "estimate": mean, "ci_low": mean, "ci_high": mean, "ci90_low": mean, "ci90_high": mean,
                "p_effect": p_eff, "p_equivalent": p_eq, "p_beyond": p_bey}  # fmt: skip
    t = stats.t(n - 1)
    half, half90 = t.ppf(0.975) * se, t.ppf(0.95) * se
    p_eff = float(2 * t.sf(abs(mean) / se))
    p_eq = float(max(t.sf((mean + margin) / se), t.cdf((mean - margin) / se)))
    p_bey = float(min(1.0, 2 * min(t.sf((mean - margin) / se), t.cdf((mean + margin) / se))))
    return {"n": n, "estimate": mean, "ci_low": mean - half, "ci_high": mean + half, "ci90_low": mean - half90, "ci90_high": mean + half90,
            "p_effect": p_eff, "p_equivalent": p_eq, "p_beyond": p_bey}  # fmt: skip
