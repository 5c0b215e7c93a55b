"""``results/summary.md``: per experiment, the paper's claim, this run's numbers and a verdict.

Written from ``gap.csv`` (every condition, read alone), ``contrasts.csv`` (the primary contrasts
declared by each experiment's module, judged with Holm; ``warmstart.verdicts``) and the modules'
secondary ``notes``. The verdict of a claim is ``verdicts.verdict`` of its contrasts, printed with
the contrasts and numbers behind it.
"""

from __future__ import annotations

import pandas as pd

from warmstart.experiments import REGISTRY
from warmstart.tables import fitted_share
from warmstart.verdicts import describe, split_evidence, verdict


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def conditions_table(gap: pd.DataFrame, final: pd.DataFrame) -> list[str]:
    """Every condition of one experiment: accuracies, the gap with its 95% interval, the paired
    t-test's p (uncorrected, and after Holm where the gap is a primary effect contrast), training
    accuracy (eval mode, where read) of both arms, pairs fitted where read, and the reading."""
    lines = [
        "| condition | n | fresh | warm | gap (fresh - warm) [95% CI] | paired-t p | paired-t p (Holm, primary) | "
        "train acc warm / fresh | pairs fitted | reading |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in gap.itertuples():
        f = final[final.condition == r.condition]
        tr = f.groupby("arm").final_train_acc.mean()
        other = next((a for a in tr.index if a != "fresh"), "fresh")
        holm = "–" if pd.isna(r.p_holm) else f"{r.p_holm:.3g}"
        lines.append(
            f"| {r.condition} | {r.n} | {_pct(r.fresh_mean)} | {_pct(r.warm_mean)} | {_pct(r.gap_mean)} [{_pct(r.gap_ci_low)}, "
            f"{_pct(r.gap_ci_high)}] | {r.p_value:.3g} | {holm} | {_pct(tr[other])} / {_pct(tr['fresh'])} | "
            f"{fitted(f)} | {r.reading} |"
        )
    return lines


def fitted(rows: pd.DataFrame) -> str:
    """Pairs fitted where read, of all pairs of ``rows`` (bold when not all)."""
    k, n = fitted_share(rows)
    return f"{k}/{n}" if k == n else f"**{k}/{n}**"


def claim_verdicts(name: str, contrasts: pd.DataFrame, notes: list[str], claims: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Per claim of experiment ``name`` (``claims``: key -> text): the verdict and, below it, its
    contrasts and notes."""
    lines, verdicts = [], {}
    c = contrasts[contrasts.experiment == name]
    for key, text in claims.items():
        rows = c[c.claim == key]
        v = verdict(rows)
        verdicts[key] = v
        word = _word(name, v)
        label = "" if len(claims) == 1 else f" ({key.replace('_', ' ')})"
        none = "" if len(rows) else " — no primary contrast could be formed from the conditions run"
        if v == "mixed":  # both directions named on the verdict's own line
            none = f" ({split_evidence(rows)})"
        lines += [
            f"**{REGISTRY[name].claim_word}{label}.** {text}",
            "",
            f"**Verdict: {word}**{none}",
            "",
        ]
        lines += [f"- {describe(r)}" for r in rows.itertuples()]
        lines.append("")
    lines += [f"- {n}" for n in notes]
    return lines, verdicts


def experiment_section(name: str, gap: pd.DataFrame, final: pd.DataFrame, body: list[str]) -> str:
    """Markdown of one experiment: its conditions, then ``body`` (``claim_verdicts``'s lines)."""
    lines = [f"## {REGISTRY[name].title} (`{name}`)", ""]
    mine = final[final.experiment == name]
    if len(mine):  # an experiment with pairs of its own (the hypothesis reads the fraction experiment's)
        k, n = fitted_share(mine)
        lines += [f"Pairs fitted where read (both arms at the protocol's training accuracy at every epoch read): {k} of {n} "
                  f"({100 * k / max(n, 1):.0f}%).", ""]  # fmt: skip
        lines += conditions_table(gap[gap.experiment == name], mine) + [""]
    return "\n".join(lines + body + [""])


def rules(protocol: dict) -> str:
    """The protocol and the verdict rules as the summary states them, with the protocol's values."""
    a, m, e = protocol["alpha"], protocol["margin_accuracy"], protocol["margin_epochs"]
    r = protocol["read"]
    reads = "the first epoch" if r["consecutive"] == 1 else f"the first {r['consecutive']} consecutive epochs"
    return (
        f"**How runs are read.** Every tuning run (warm, fresh, every arm) stops at {reads} whose training data, in eval mode, "
        f"reach {100 * r['train_acc']:g}% accuracy (counted after a drifting data schedule has ended), under its epoch cap, and is "
        f"read there (the mean over those epochs); a pair is *fitted* when both arms reach {100 * r['train_acc']:g}% at every epoch "
        "read. Speed is epochs to fit, counted from the first tuning epoch, on training data.\n\n"
        f"**How verdicts are reached.** Each experiment declares its primary contrasts before any data (its module in "
        f"`warmstart/experiments/`). One Holm family per experiment (alpha = {a:g}) covers both directions of every contrast: a "
        "claimed effect is *supported* when its paired t-test, two-sided, is significant after Holm with the claimed sign (its 95% "
        "interval is shown), *against* when significant with the other sign; a claimed absence of effect is supported only by an "
        f"equivalence test (TOST within ±{100 * m:g} points of accuracy, ±{e:g} epochs of speed; its 90% interval is shown, "
        "unadjusted: the decision is the Holm-adjusted TOST p) and against when the mean lies significantly beyond the margin. "
        "A positive control is tested like an effect but is no finding of the claim. A claim is *reproduced* when all its "
        "contrasts are supported, *mixed* when at least one claimed effect is supported and a contrast is against (the verdict "
        "names both), *partly reproduced* when at least one claimed effect is and none is against, *not reproduced* when none "
        "is and one is against, *inconclusive* otherwise; contrasts whose pairs were not fitted where read are *not converged* "
        "and left out of the family. Exact identities (a full reset restored to its initial values is the fresh run; a convex optimum) are "
        "built-in checks, listed apart and outside every family and verdict. Other conditions are shown with their own "
        "uncorrected reading (gap, reversed, equivalent, none). Nothing is chosen on the test set: every tested setting is fixed "
        "in the config."
    )


def checks_section(contrasts: pd.DataFrame) -> list[str]:
    """The built-in identity checks of every experiment (``kind`` check), apart from the claims."""
    c = contrasts[contrasts.kind == "check"]
    if c.empty:
        return []
    lines = [
        "## Built-in checks",
        "",
        "Identities that hold by construction, asserted on the data; no finding, no part of any verdict.",
        "",
    ]
    return lines + [f"- {REGISTRY[r.experiment].title}: {describe(r)}" for r in c.itertuples()] + [""]


def summary(gap: pd.DataFrame, final: pd.DataFrame, contrasts: pd.DataFrame, notes: dict[str, list[str]], setting: str,
            protocol: dict, claims: dict[str, dict[str, str]], stamp: dict | None = None) -> str:  # fmt: skip
    """The whole ``summary.md``: a header naming the setting, the protocol (``stamp``: its version
    and hash) and the rules, a table of verdicts, one section per experiment run (``notes``:
    experiment -> its secondary notes; ``claims``: experiment -> its claims), and the built-in checks."""
    names = [n for n in REGISTRY if n in notes]
    overview = ["| experiment | claim | verdict |", "|---|---|---|"]
    judged = {name: claim_verdicts(name, contrasts, notes[name], claims[name]) for name in names}
    for name in names:
        for key, v in judged[name][1].items():
            word = _word(name, v)
            overview.append(f"| [{REGISTRY[name].title}](#{name}) | {key.replace('_', ' ')} | {word} |")
    k, n = fitted_share(final)
    version = f"Judged under protocol version {stamp['version']} (hash `{stamp['hash']}`, docs/protocol.md). " if stamp else ""
    parts = [
        "# Warm-start generalisation gap: summary",
        "",
        f"Setting: {setting}",
        "",
        f"{version}Pairs fitted where read: {k} of {n} ({100 * k / max(n, 1):.0f}%).",
        "",
        "Test accuracy in %, mean over seeds; gap = fresh - warm, paired by seed, with its 95% t-interval and the paired t-test's "
        "p. Written by the pipeline from `results/tables/gap.csv` and `contrasts.csv`.",
        "",
        rules(protocol),
        "",
        "![Every primary contrast, estimate and interval, coloured by its status](figures/primary.png)",
        "",
        *overview,
        "",
    ]
    parts += [f'<a id="{name}"></a>\n\n' + experiment_section(name, gap, final, judged[name][0]) for name in names]
    return "\n".join(parts + checks_section(contrasts))


def _word(exp: str, v: str) -> str:
    """A verdict in the words of experiment ``exp`` (its ``words``: the hypothesis is
    "supported", an arena arm "closes the gap")."""
    return REGISTRY[exp].words.get(v, v)


def confirmation(original: pd.DataFrame, confirm: pd.DataFrame) -> str:
    """A confirmation study's last section, at the level of claims and of contrasts: per claim of
    either study, the original's verdict, this study's (disjoint seeds, newly generated data) and
    whether they agree; per primary contrast of either, both statuses and whether it flipped; claims
    and contrasts present on one side only are listed as such. Built-in checks are left out of
    every count (they hold by construction)."""
    original, confirm = (t[t.kind != "check"] for t in (original, confirm))
    keys = list(dict.fromkeys([*zip(confirm.experiment, confirm.claim), *zip(original.experiment, original.claim)]))
    lines = ["## Confirmation", "", "The same claims and primary contrasts on disjoint seeds and newly generated data, against the "
             "original study's (its `contrasts.csv`); built-in checks are left out. A claim is *confirmed* when both studies reach "
             "the same verdict; a contrast *flips* when its status differs.", "",
             "| experiment | claim | original | this study | confirmed |", "|---|---|---|---|---|"]  # fmt: skip
    same = 0
    for exp, claim in keys:
        before = original[(original.experiment == exp) & (original.claim == claim)]
        rows = confirm[(confirm.experiment == exp) & (confirm.claim == claim)]
        a = _word(exp, verdict(before)) if len(before) else "(not judged)"
        b = _word(exp, verdict(rows)) if len(rows) else "(not judged)"
        ok = len(before) and len(rows) and a == b
        same += bool(ok)
        lines.append(f"| {REGISTRY[exp].title} | {claim.replace('_', ' ')} | {a} | {b} | {'yes' if ok else '**no**'} |")
    both = pd.merge(original, confirm, on=["experiment", "claim", "contrast"], how="outer", suffixes=("_original", "_confirm"))
    flips = both[both.status_original.fillna("(absent)") != both.status_confirm.fillna("(absent)")]
    kept = len(both) - len(flips)
    lines += ["", f"{same} of {len(keys)} claims confirmed; {kept} of {len(both)} primary contrasts kept their status.", "",
              "| experiment | claim | contrast | original | this study | flipped |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in both.itertuples():
        a, b = (x if isinstance(x, str) else "(absent)" for x in (r.status_original, r.status_confirm))
        lines.append(f"| {r.experiment} | {r.claim.replace('_', ' ')} | {r.contrast} | {a} | {b} | {'**yes**' if a != b else 'no'} |")
    return "\n".join(["", *lines, ""])
