"""``results/summary.md``: per experiment, the paper's claim, this run's numbers and a verdict.

Written from ``gap.csv`` (every condition, read alone), ``contrasts.csv`` (the primary contrasts
declared by each experiment's module, judged with Holm; ``warmstart.verdicts``) and the modules'
secondary ``notes``. The verdict of a claim is ``verdicts.verdict`` of its contrasts, printed with
the contrasts and numbers behind it.
"""

from __future__ import annotations

import pandas as pd

from warmstart.experiments import MODULES
from warmstart.verdicts import describe, verdict

HYPOTHESIS_WORDS = {
    "reproduced": "supported",
    "partly reproduced": "partly supported",
    "not reproduced": "not supported",
    "inconclusive": "inconclusive",
    "not converged": "not converged",
}
# the arena's claims are "the intervention closes the gap": their verdicts read as what it does
ARENA_WORDS = {"reproduced": "closes the gap", "partly reproduced": "narrows the gap", "not reproduced": "not shown better than plain warm",
               "inconclusive": "not shown better than plain warm"}  # fmt: skip
WORDS = {"hypothesis": HYPOTHESIS_WORDS, "arena": ARENA_WORDS}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def conditions_table(gap: pd.DataFrame, final: pd.DataFrame) -> list[str]:
    """Every condition of one experiment: accuracies, the gap with its 95% interval, p, p after
    Holm for a primary contrast, training accuracy of both arms, convergence and the reading."""
    lines = [
        "| condition | n | fresh | warm | gap (fresh - warm) [95% CI] | p | p (Holm, primary) | train acc warm / fresh "
        "| converged | reading |",
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
            f"{'yes' if f.converged.all() else '**no**'} | {r.reading} |"
        )
    return lines


def claim_verdicts(name: str, contrasts: pd.DataFrame, notes: list[str], claims: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Per claim of experiment ``name`` (``claims``: key -> text): the verdict and, below it, its
    contrasts and notes."""
    lines, verdicts = [], {}
    c = contrasts[contrasts.experiment == name]
    for key, text in claims.items():
        rows = c[c.claim == key]
        v = verdict(rows)
        verdicts[key] = v
        word = WORDS.get(name, {}).get(v, v)
        label = "" if len(claims) == 1 else f" ({key.replace('_', ' ')})"
        none = "" if len(rows) else " — no primary contrast could be formed from the conditions run"
        lines += [
            f"**{getattr(MODULES[name], 'CLAIM_WORD', 'Paper' + chr(39) + 's claim')}{label}.** {text}",
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
    lines = [f"## {MODULES[name].TITLE} (`{name}`)", ""]
    if name != "hypothesis":
        lines += conditions_table(gap[gap.experiment == name], final[final.experiment == name]) + [""]
    return "\n".join(lines + body + [""])


def rules(verdict_settings: dict) -> str:
    """The verdict rules as the summary states them, with the config's alpha and margins."""
    a, m, e = verdict_settings["alpha"], verdict_settings["margin_accuracy"], verdict_settings["margin_epochs"]
    return (
        f"**How verdicts are reached.** Each experiment declares its primary contrasts before any data (its module in "
        f"`warmstart/experiments/`). A claimed effect is *supported* when its 95% interval excludes 0 in the claimed direction after "
        f"Holm's correction over the experiment's primary contrasts (alpha = {a:g}); a claimed absence of effect only by an "
        f"equivalence test (TOST: the 90% interval inside ±{100 * m:g} points of accuracy, ±{e:g} epochs of speed). A contrast is "
        "*against* when significant the other way (or, for an equivalence, significantly beyond the margin). A positive "
        "control is tested like an effect but is no finding of the claim. A claim is "
        "*reproduced* when all its contrasts are supported, *partly reproduced* when at least one claimed effect is, *not "
        "reproduced* when none is and one is against, *inconclusive* otherwise; contrasts whose arms did not reach the "
        "training-accuracy threshold are *not converged* and left out. Other conditions are shown with their own uncorrected "
        "reading (gap, reversed, equivalent, none). Nothing is chosen on the test set: every tested setting is fixed in the config."
    )


def summary(gap: pd.DataFrame, final: pd.DataFrame, contrasts: pd.DataFrame, notes: dict[str, list[str]], setting: str,
            verdict_settings: dict, claims: dict[str, dict[str, str]]) -> str:  # fmt: skip
    """The whole ``summary.md``: a header naming the setting and the rules, a table of verdicts,
    and one section per experiment run (``notes``: experiment -> its secondary notes; ``claims``:
    experiment -> its claims)."""
    names = [n for n in MODULES if n in notes]
    overview = ["| experiment | claim | verdict |", "|---|---|---|"]
    judged = {name: claim_verdicts(name, contrasts, notes[name], claims[name]) for name in names}
    for name in names:
        for key, v in judged[name][1].items():
            word = WORDS.get(name, {}).get(v, v)
            overview.append(f"| [{MODULES[name].TITLE}](#{name}) | {key.replace('_', ' ')} | {word} |")
    parts = [
        "# Warm-start generalisation gap: summary",
        "",
        f"Setting: {setting}",
        "",
        "Test accuracy in %, mean over seeds; gap = fresh - warm, paired by seed, with its 95% t-interval and the paired t-test's "
        "p. Written by the pipeline from `results/tables/gap.csv` and `contrasts.csv`.",
        "",
        rules(verdict_settings),
        "",
        "![Every primary contrast, estimate and 95% interval, coloured by its status](figures/primary.png)",
        "",
        *overview,
        "",
    ]
    parts += [f'<a id="{name}"></a>\n\n' + experiment_section(name, gap, final, judged[name][0]) for name in names]
    return "\n".join(parts)


def confirmation(original: pd.DataFrame, confirm: pd.DataFrame) -> str:
    """A confirmation study's last section: per claim judged in both, the original study's
    verdict, this study's (disjoint seeds, a new test set) and whether they agree, saying so when
    the two judged different sets of contrasts (a condition left out of the confirmation)."""
    lines = ["## Confirmation", "", "The same claims on disjoint seeds and a newly generated test set, against the original study's "
             "verdicts (its `contrasts.csv`). A verdict is *confirmed* when both studies reach the same one.", "",
             "| experiment | claim | original | this study | confirmed |", "|---|---|---|---|---|"]  # fmt: skip
    for (exp, claim), rows in confirm.groupby(["experiment", "claim"], sort=False):
        before = original[(original.experiment == exp) & (original.claim == claim)]
        if before.empty:
            continue
        a, b = (WORDS.get(exp, {}).get(v, v) for v in (verdict(before), verdict(rows)))
        same = set(before.get("contrast", [])) == set(rows.get("contrast", []))
        note = "" if same else f" (judged on {len(rows)} contrasts, the original on {len(before)})"
        lines.append(f"| {MODULES[exp].TITLE} | {claim.replace('_', ' ')} | {a} | {b} | {'yes' if a == b else '**no**'}{note} |")
    return "\n".join(["", *lines, ""])
