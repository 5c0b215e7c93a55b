"""``results/summary.md``: per experiment, the paper's claim, this run's numbers and a verdict.

Each condition's gap (fresh - warm, paired by seed) is read through its 95% interval: *gap* when
the interval lies above 0, *reversed* when below 0, *none* when it contains 0. Each experiment's
verdict tests the paper's specific claim with these readings (``VERDICTS``) and is one of
*reproduced*, *partly reproduced*, *not reproduced* or *inconclusive*; the reason is printed
with the numbers behind it. Nothing is called reproduced unless the intervals support it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from warmstart.stats import paired_gap

CLAIMS = {
    "fraction": (
        "Gap against the pretraining fraction",
        "A warm start (pretrain on part of the data, then train on all of it) ends with lower test accuracy than "
        "a fresh start on all of it, though both fit the training set (Ash & Adams 2020; Berariu et al. 2021, Fig. 1, 50%).",
    ),
    "pretrain_length": (
        "Optimiser and pretraining length",
        "The gap appears with Adam, RMSprop, SGD and SGD with momentum, and after only a few pretraining epochs, "
        "before pretraining fits its data (Berariu et al. 2021, Fig. 2 and 8-10).",
    ),
    "smooth_shift": (
        "A smooth shift of the data",
        "Drawing examples from the full set with probability 1 - gamma^(50 n/N), otherwise from the pretraining half, "
        "causes a gap even when the bias fades slowly (Berariu et al. 2021, Fig. 3).",
    ),
    "stages": (
        "Several pretraining stages and class imbalance",
        "Final test accuracy falls as the number of pretraining stages n grows, and more so for a smaller r "
        "(more class imbalance between stages) (Berariu et al. 2021, Fig. 4).",
    ),
    "width_depth": ("Width and depth", "The gap persists for every width and depth tried (Berariu et al. 2021, Fig. 5)."),
    "reset": (
        "Resetting units after pretraining",
        "Re-initialising the last unit(s) is not enough; resetting most of the network (the last 4-5 of 6 units) "
        "recovers the accuracy of the fresh model (Berariu et al. 2021, Fig. 6).",
    ),
    "speed": (
        "Tuning speed when early units are kept",
        "Keeping the first 1-2 units and resetting the rest gives no noticeable speed-up of tuning over a fresh start "
        "(Berariu et al. 2021, appendix Fig. 11).",
    ),
    "tune_lr": (
        "A larger tuning learning rate",
        "A 10x larger tuning learning rate substantially reduces the gap but does not close it (Berariu et al. 2021, Fig. 7).",
    ),
    "shrink_perturb": (
        "Shrink & perturb",
        "Shrinking the pretrained weights and adding a little fresh-initialisation noise (theta <- lambda theta + sigma theta') "
        "at the warm start recovers most of the fresh accuracy (Ash & Adams 2020).",
    ),
    "table1": (
        "Ash & Adams Table 1",
        "Warm starts generalise worse than fresh starts for ResNet-18 and the MLP with SGD and Adam, each trained to 99% "
        "training accuracy; logistic regression (convex) shows no gap (Ash & Adams 2020, Table 1).",
    ),
}


def reading(low: float, high: float) -> str:
    if low > 0:
        return "gap"
    if high < 0:
        return "reversed"
    return "none"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _gap(r) -> str:
    return f"{_pct(r.gap_mean)} [{_pct(r.gap_ci_low)}, {_pct(r.gap_ci_high)}]"


def _count(g: pd.DataFrame) -> tuple[int, int]:
    return sum(reading(a, b) == "gap" for a, b in zip(g.gap_ci_low, g.gap_ci_high)), len(g)


def _all_or_some(g: pd.DataFrame, what: str) -> tuple[str, str]:
    """Reproduced if every condition shows a gap, partly if some do, not reproduced if none does
    and some are reversed, inconclusive if every interval contains 0."""
    k, n = _count(g)
    reversed_ = sum(reading(a, b) == "reversed" for a, b in zip(g.gap_ci_low, g.gap_ci_high))
    verdict = "reproduced" if k == n else "partly reproduced" if k else "not reproduced" if reversed_ else "inconclusive"
    return verdict, f"{k} of {n} {what} show a gap whose interval excludes 0, {reversed_} a reversed one"


def _fraction(g, f, cfg):
    head = g[g.condition == f"fraction={cfg.get('curves_fraction', 0.5):g}"]
    if head.empty:
        return "inconclusive", "the headline fraction was not run"
    h = head.iloc[0]
    v = {"gap": "reproduced", "reversed": "not reproduced", "none": "inconclusive"}[reading(h.gap_ci_low, h.gap_ci_high)]
    k, n = _count(g)
    return v, f"at {h.condition} the gap is {_gap(h)} points (n = {h.n}); {k} of {n} fractions show a gap"


def _pretrain_length(g, f, cfg):
    g = g.merge(f.drop_duplicates("condition")[["condition", "optimizer", "pretrain_epochs"]], on="condition")
    longest = g[g.pretrain_epochs == g.pretrain_epochs.max()]
    verdict, why = _all_or_some(longest, f"optimisers (after {g.pretrain_epochs.max()} pretraining epochs)")
    first = []
    for opt, x in g.groupby("optimizer"):
        hit = x[(x.gap_ci_low > 0) & (x.pretrain_epochs > 0)].pretrain_epochs
        first.append(f"{opt}: {int(hit.min()) if len(hit) else 'never'}")
    return verdict, why + "; first pretraining length with a gap — " + ", ".join(first)


def _smooth_shift(g, f, cfg):
    return _all_or_some(g, "values of gamma")


def _stages(g, f, cfg):
    g = g.merge(f.drop_duplicates("condition")[["condition", "stages", "r"]], on="condition")
    rising, gaps = [], []
    for _, x in g.groupby("r"):
        x = x.sort_values("stages")
        rising.append(bool(np.all(np.diff(x.gap_mean) > 0)))
        gaps.append(reading(x.gap_ci_low.iloc[-1], x.gap_ci_high.iloc[-1]) == "gap")
    verdict = "reproduced" if all(rising) and all(gaps) else "partly reproduced" if any(rising) or any(gaps) else "not reproduced"
    return (
        verdict,
        f"the mean gap grows with n for {sum(rising)} of {len(rising)} values of r; at the largest n it excludes 0 for {sum(gaps)}",
    )


def _width_depth(g, f, cfg):
    return _all_or_some(g, "(width, depth) settings")


def _reset(g, f, cfg):
    sizes = g.assign(size=g.condition.str.count(r"\+") + 1 - g.condition.str.endswith("=none"))
    partial = sizes[(sizes["size"] > 0) & (sizes["size"] < sizes["size"].max())].sort_values("size")
    if partial.empty:
        return "inconclusive", "no partial reset was run"
    few, most = partial.iloc[0], partial.iloc[-1]
    not_enough = reading(few.gap_ci_low, few.gap_ci_high) == "gap"
    recovers = reading(most.gap_ci_low, most.gap_ci_high) != "gap"
    verdict = "reproduced" if not_enough and recovers else "partly reproduced" if not_enough or recovers else "not reproduced"
    how = (
        "units re-sampled from the initialisation distribution"
        if cfg.get("mode") == "resample"
        else "units restored to their initial values"
    )
    return (
        verdict,
        f"{how}; resetting {few.condition.split('=')[1]}: gap {_gap(few)}; resetting {most.condition.split('=')[1]}: gap {_gap(most)}",
    )


def _speed(g, f, cfg):
    f = f[f.keep_first.isin(cfg.get("keep_first", []))]  # the kept-units conditions only, not the plain warm start
    s = f.dropna(subset=["epochs_to_threshold"]) if "epochs_to_threshold" in f else f.iloc[:0]
    parts, faster = [], 0
    for cond, x in f.groupby("condition"):
        p = x.pivot(index="seed", columns="arm", values="epochs_to_threshold").dropna()
        if "warm" not in p or len(p) < 2:
            parts.append(f"{cond}: threshold not reached by enough seeds")
            continue
        d = paired_gap(p["warm"], p["fresh"])  # epochs(warm) - epochs(fresh): negative is faster
        faster += d["gap_ci_high"] < 0
        parts.append(f"{cond}: {d['gap_mean']:+.1f} epochs [{d['gap_ci_low']:+.1f}, {d['gap_ci_high']:+.1f}] vs fresh")
    verdict = "inconclusive" if s.empty else "reproduced" if faster == 0 else "not reproduced"
    return verdict, f"epochs to reach test accuracy {cfg.get('threshold')} (other units {cfg.get('mode')}d): " + "; ".join(parts)


def _tune_lr(g, f, cfg):
    x = f.pivot_table(index="seed", columns=["lr_multiplier", "arm"], values="final_test_acc")
    mults = sorted(f.lr_multiplier.unique())
    if len(mults) < 2:
        return "inconclusive", "only one multiplier was run"
    lo, hi = mults[0], mults[-1]
    gaps = {m: x[(m, "fresh")] - x[(m, "warm")] for m in (lo, hi)}
    d = paired_gap(gaps[lo].to_numpy(), gaps[hi].to_numpy())  # reduction of the gap
    high = g[g.condition == f"lr_multiplier={hi:g}"].iloc[0]
    reduced, open_ = d["gap_ci_low"] > 0, reading(high.gap_ci_low, high.gap_ci_high) == "gap"
    against = d["gap_ci_high"] < 0 or reading(high.gap_ci_low, high.gap_ci_high) == "reversed"
    verdict = "reproduced" if reduced and open_ else "partly reproduced" if reduced or open_ else "inconclusive"
    verdict = "not reproduced" if against and verdict == "inconclusive" else verdict
    return verdict, (
        f"the gap shrinks by {_pct(d['gap_mean'])} [{_pct(d['gap_ci_low'])}, {_pct(d['gap_ci_high'])}] points from x{lo:g} to x{hi:g}; "
        f"at x{hi:g} it is {_gap(high)}"
    )


def _shrink_perturb(g, f, cfg):
    plain = g[g.condition == "shrink=1,perturb=0"]
    others = g[g.condition != "shrink=1,perturb=0"]
    if others.empty:
        return "inconclusive", "no shrink & perturb condition was run"
    best = others.sort_values("warm_mean").iloc[-1]
    recovered = reading(best.gap_ci_low, best.gap_ci_high) != "gap"
    base = f"plain warm start: gap {_gap(plain.iloc[0])}; " if len(plain) else ""
    had_gap = len(plain) and reading(plain.iloc[0].gap_ci_low, plain.iloc[0].gap_ci_high) == "gap"
    verdict = "reproduced" if recovered and had_gap else "inconclusive" if recovered else "not reproduced"
    return verdict, base + f"best, {best.condition}: gap {_gap(best)}"


def _table1(g, f, cfg):
    g = g.merge(f.drop_duplicates("condition")[["condition", "model"]], on="condition")
    convex, deep = g[g.model == "logreg"], g[g.model != "logreg"]
    k, n = _count(deep)
    no_convex_gap = all(reading(a, b) != "gap" for a, b in zip(convex.gap_ci_low, convex.gap_ci_high))
    verdict = "reproduced" if k == n and no_convex_gap else "partly reproduced" if k or no_convex_gap else "not reproduced"
    return verdict, f"{k} of {n} non-convex settings show a gap; logistic regression shows {'no' if no_convex_gap else 'a'} gap"


VERDICTS: dict[str, Callable] = {
    "fraction": _fraction,
    "pretrain_length": _pretrain_length,
    "smooth_shift": _smooth_shift,
    "stages": _stages,
    "width_depth": _width_depth,
    "reset": _reset,
    "speed": _speed,
    "tune_lr": _tune_lr,
    "shrink_perturb": _shrink_perturb,
    "table1": _table1,
}


def experiment_section(name: str, gap: pd.DataFrame, final: pd.DataFrame, cfg: dict) -> str:
    """Markdown of one experiment: claim, the table of its conditions, the verdict and why."""
    title, claim = CLAIMS[name]
    g, f = gap[gap.experiment == name], final[final.experiment == name]
    lines = [f"## {title} (`{name}`)", "", f"**Paper's claim.** {claim}", ""]
    lines += [
        "| condition | n | fresh | warm | gap (fresh - warm) [95% CI] | p | train acc warm / fresh | reading |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in g.itertuples():
        tr = f[f.condition == r.condition].groupby("arm").final_train_acc.mean()
        other = next((a for a in tr.index if a != "fresh"), "fresh")
        lines.append(
            f"| {r.condition} | {r.n} | {_pct(r.fresh_mean)} | {_pct(r.warm_mean)} | {_gap(r)} | {r.p_value:.3g} | "
            f"{_pct(tr[other])} / {_pct(tr['fresh'])} | {reading(r.gap_ci_low, r.gap_ci_high)} |"
        )
    verdict, why = VERDICTS[name](g, f, cfg)
    lines += ["", f"**Verdict: {verdict}** — {why}.", ""]
    return "\n".join(lines)


def summary(gap: pd.DataFrame, final: pd.DataFrame, experiments: dict[str, dict], setting: str, diag: pd.DataFrame | None = None) -> str:
    """The whole ``summary.md``: a header naming the setting, one section per experiment run, and
    the diagnostics' answer to the hypothesis when they were measured."""
    parts = [
        "# Warm-start generalisation gap: summary",
        "",
        f"Setting: {setting}",
        "",
        "Test accuracy in %, mean over seeds; gap = fresh - warm, paired by seed, with its 95% t-interval and the "
        "paired t-test's p. Written by the pipeline from `results/tables/gap.csv` and `final.csv`.",
        "",
    ]
    parts += [
        experiment_section(name, gap, final, experiments[name])
        for name in VERDICTS
        if name in experiments and name in set(final.experiment)
    ]
    if diag is not None and len(diag):
        parts.append(hypothesis_section(diag, final))
    return "\n".join(parts)


def hypothesis_table(diag: pd.DataFrame, final: pd.DataFrame, half: str = "unseen") -> pd.DataFrame:
    """Per seed of the diagnosed condition: the gap, the warm-minus-fresh top Hessian eigenvalue
    and trace at the end of tuning, and the fresh-minus-warm gradient noise ``tr Σ`` averaged
    over the early tuning epochs where it was measured (excluding epoch 0's fresh init), all
    measured on the training examples of ``half`` (``seen`` or ``unseen`` by the pretraining)."""
    diag = diag[diag.half == half]
    cond = diag.condition.iloc[0]
    f = final[(final.experiment == "fraction") & (final.condition == cond)].pivot(index="seed", columns="arm", values="final_test_acc")
    tune = diag[diag.arm != "pretrain"]
    end = tune[tune.epoch == tune.epoch.max()].pivot_table(index="seed", columns=["quantity", "arm"], values="value")
    noise = tune[(tune.quantity == "grad_trace_cov") & (tune.epoch > 0)].pivot_table(
        index="seed", columns="arm", values="value", aggfunc="mean"
    )
    out = pd.DataFrame({"gap": f["fresh"] - f["warm"]})
    out["d_sharpness"] = end[("hessian_eig1", "warm")] - end[("hessian_eig1", "fresh")]
    if ("hessian_trace", "warm") in end:
        out["d_trace"] = end[("hessian_trace", "warm")] - end[("hessian_trace", "fresh")]
    out["d_noise"] = noise["fresh"] - noise["warm"]
    return out.reset_index()


def hypothesis_section(diag: pd.DataFrame, final: pd.DataFrame) -> str:
    """Markdown answering, on the examples the pretraining saw and on those it did not: is the warm
    start sharper at the end of tuning, did it see less gradient noise early in tuning, and do
    seeds with larger differences have larger gaps?"""
    from scipy import stats

    answers = {"gap": "yes", "reversed": "no, the reverse", "none": "no clear difference"}
    lines = [
        "## The hypothesis, measured directly (diagnostics)",
        "",
        "**Hypothesis (Berariu et al. 2021).** Pretraining removes gradient noise from early tuning, so the warm start explores "
        "less and ends in a sharper minimum that generalises worse. The paper tests this only indirectly; here sharpness (top "
        "eigenvalue of the training-loss Hessian) and gradient noise (tr Σ of per-example gradients) are measured on saved states, "
        f"paired by seed (condition {diag.condition.iloc[0]}; `results/tables/diagnostics.csv`), on two random sets of training "
        "examples: *seen*, from the pretraining subset, and *unseen*, from the rest of the training set.",
        "",
        "| examples | question | measured, mean over seeds [95% CI] | answer |",
        "|---|---|---|---|",
    ]
    verdicts = {}
    for half in ("seen", "unseen"):
        h = hypothesis_table(diag, final, half)

        def row(question: str, col: str, h=h, half=half) -> tuple[str, str]:
            g = paired_gap(h[col].to_numpy(), np.zeros(len(h)))
            r = reading(g["gap_ci_low"], g["gap_ci_high"])
            measured = f"{g['gap_mean']:.4g} [{g['gap_ci_low']:.4g}, {g['gap_ci_high']:.4g}] (p = {g['p_value']:.3g}, n = {len(h)})"
            return f"| {half} | {question} | {measured} | {answers[r]} |", r

        sharp, sharp_r = row("warm sharper at the end of tuning? top Hessian eigenvalue, warm - fresh", "d_sharpness")
        noisy, noisy_r = row("less gradient noise early in warm tuning? tr Σ, fresh - warm", "d_noise")
        lines += [sharp, noisy]
        if "d_trace" in h:
            lines.append(row("warm larger Hessian trace at the end? warm - fresh", "d_trace")[0])
        for col, name in (("d_sharpness", "sharpness difference"), ("d_noise", "noise difference")):
            if len(h) > 2 and h[col].std() > 0 and h.gap.std() > 0:
                r, p = stats.pearsonr(h[col], h.gap)
                answer = "yes" if p < 0.05 and r > 0 else "no evidence"
                lines.append(
                    f"| {half} | across seeds, does the gap grow with the {name}? | Pearson r = {r:.2f} (p = {p:.3g}) | {answer} |"
                )
        verdicts[half] = (
            "supported" if sharp_r == noisy_r == "gap" else "partly supported" if "gap" in (sharp_r, noisy_r) else "not supported"
        )
    verdict = verdicts["seen"] if verdicts["seen"] == verdicts["unseen"] else "partly supported"  # differing: one half supports some
    lines += [
        "",
        f"**Verdict: the hypothesis is {verdict} by these measurements** (seen: {verdicts['seen']}; unseen: {verdicts['unseen']}).",
        "",
    ]
    return "\n".join(lines)
