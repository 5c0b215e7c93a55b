"""``results/summary.md``: per experiment, the paper's claim, this run's numbers and a verdict.

Verdict of one condition, from the 95% interval of the mean paired gap (fresh - warm):
*gap* when the interval lies above 0, *reversed* when it lies below 0, *inconclusive* when it
contains 0. An experiment is *reproduced* when its headline condition shows a gap,
*not reproduced* when it is reversed, and *inconclusive* otherwise.
"""

from __future__ import annotations

import pandas as pd

CLAIMS = {
    "fraction": (
        "Gap against the pretraining fraction",
        "Pretraining on part of the data and then training on all of it (warm start) ends with "
        "lower test accuracy than training on all of it from a fresh initialisation, although both "
        "fit the training set (Ash & Adams 2020; Berariu et al. 2021, Fig. 1, with a 50% subset).",
    ),
}


def verdict(low: float, high: float) -> str:
    if low > 0:
        return "gap"
    if high < 0:
        return "reversed"
    return "inconclusive"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def experiment_section(name: str, gap: pd.DataFrame, final: pd.DataFrame, headline: str) -> str:
    """Markdown of one experiment; ``headline`` is the condition whose verdict decides it."""
    title, claim = CLAIMS[name]
    g = gap[gap.experiment == name]
    f = final[final.experiment == name]
    lines = [
        f"## {title} (`{name}`)",
        "",
        f"**Paper's claim.** {claim}",
        "",
        "**Measured** (test accuracy in %, mean over seeds; gap = fresh - warm, paired by seed, 95% t-interval, paired t-test):",
        "",
    ]
    lines += [
        "| condition | n | fresh | warm | gap | 95% CI | p | final train acc (warm / fresh) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in g.itertuples():
        tr = f[f.condition == r.condition].groupby("arm").final_train_acc.mean()
        other = next(a for a in tr.index if a != "fresh")
        lines.append(
            f"| {r.condition} | {r.n} | {_pct(r.fresh_mean)} | {_pct(r.warm_mean)} | {_pct(r.gap_mean)} | "
            f"[{_pct(r.gap_ci_low)}, {_pct(r.gap_ci_high)}] | {r.p_value:.3g} | {_pct(tr[other])} / {_pct(tr['fresh'])} | "
            f"{verdict(r.gap_ci_low, r.gap_ci_high)} |"
        )
    head = g[g.condition == headline]
    if head.empty:
        outcome = "inconclusive (the headline condition was not run)"
    else:
        h = head.iloc[0]
        v = verdict(h.gap_ci_low, h.gap_ci_high)
        outcome = {
            "gap": "reproduced",
            "reversed": "not reproduced (the warm start generalises better)",
            "inconclusive": "inconclusive (the interval contains 0)",
        }[v]
        outcome += f": at {headline} the gap is {_pct(h.gap_mean)} points [{_pct(h.gap_ci_low)}, {_pct(h.gap_ci_high)}], n = {h.n}"
    n_gap = sum(verdict(a, b) == "gap" for a, b in zip(g.gap_ci_low, g.gap_ci_high))
    lines += ["", f"**Verdict: {outcome}.** {n_gap} of {len(g)} conditions show a gap whose interval excludes 0.", ""]
    return "\n".join(lines)


def summary(gap: pd.DataFrame, final: pd.DataFrame, headlines: dict[str, str], setting: str) -> str:
    """The whole ``summary.md``: a header naming the setting, then one section per experiment."""
    parts = [
        "# Warm-start generalisation gap: summary",
        "",
        f"Setting: {setting}",
        "",
        "Written by the pipeline from `results/tables/gap.csv` and `final.csv`.",
        "",
    ]
    parts += [experiment_section(name, gap, final, headlines[name]) for name in headlines if name in set(final.experiment)]
    return "\n".join(parts)
