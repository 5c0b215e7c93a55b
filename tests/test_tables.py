import numpy as np
import pandas as pd
import pytest
from scipy import stats

from warmstart.stats import paired_gap
from warmstart.summary import summary
from warmstart.tables import FINAL_COLUMNS, GAP_COLUMNS, final_accuracy, final_table, gap_table


def test_paired_gap_matches_scipys_paired_t_test_and_interval():
    rng = np.random.default_rng(0)
    warm = rng.uniform(0.5, 0.7, 7)
    fresh = warm + rng.normal(0.02, 0.01, 7)
    g = paired_gap(fresh, warm)
    assert g["p_value"] == pytest.approx(stats.ttest_rel(fresh, warm).pvalue)
    ci = stats.ttest_rel(fresh, warm).confidence_interval(0.95)
    assert (g["gap_ci_low"], g["gap_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert g["gap_mean"] == pytest.approx(np.mean(fresh - warm)) and g["n"] == 7


def test_pairing_matters_a_constant_shift_is_certain_though_seeds_vary_a_lot():
    warm = np.array([0.2, 0.5, 0.8])
    g = paired_gap(warm + 0.01, warm)
    assert g["gap_ci_low"] == pytest.approx(0.01) and g["p_value"] == 0.0
    assert stats.ttest_ind(warm + 0.01, warm).pvalue > 0.9  # an unpaired test would see nothing


def _metrics(run, test_accs):
    rows = []
    for e, acc in enumerate(test_accs):
        rows += [
            {"run": run, "epoch": e, "split": "test", "loss": 1.0, "acc": acc},
            {"run": run, "epoch": e, "split": "train", "loss": 1.0, "acc": 1.0},
        ]
    return rows


def test_final_accuracy_is_the_mean_of_the_last_window_epochs_excluding_epoch_0():
    m = pd.DataFrame(_metrics("a", [0.0, 0.1, 0.2, 0.3, 0.4]))
    f = final_accuracy(m, window=2)
    assert f.loc["a", "final_test_acc"] == pytest.approx(0.35) and f.loc["a", "epochs"] == 4
    assert final_accuracy(m, window=10).loc["a", "final_test_acc"] == pytest.approx(0.25)


def _curves(run, train_accs, test_accs):
    rows = []
    for e, (tr, te) in enumerate(zip(train_accs, test_accs)):
        rows += [
            {"run": run, "epoch": e, "split": "test", "loss": 1.0, "acc": te},
            {"run": run, "epoch": e, "split": "train", "loss": 1.0, "acc": tr},
        ]
    return rows


STOPS = {"warm": {"train_acc": 0.99, "after": 0}, "fresh": {"train_acc": 0.99, "after": 0}}


def test_a_run_with_epochs_after_its_threshold_reports_their_mean_and_converges_by_its_eval_accuracy():
    rows = [{"experiment": "fraction", "condition": "c", "arm": a, "seed": 0, "run": a, "parent": ""} for a in ("warm", "fresh")]
    metrics = _curves("warm", [0.1, 0.9, 0.95, 0.96, 0.97], [0.1, 0.5, 0.6, 0.7, 0.8])
    metrics += [{"run": "warm", "epoch": e, "split": "train_eval", "loss": 1.0, "acc": a} for e, a in enumerate([0.1, 0.5, 0.99, 1, 1])]
    metrics += _curves("fresh", [0.1, 0.995, 1.0, 1.0, 1.0], [0.1, 0.4, 0.4, 0.4, 0.4])  # no eval accuracy: its running one
    stops = {"warm": {"train_acc": 0.99, "after": 2}, "fresh": {"train_acc": 0.99, "after": 2}}
    final = final_table(rows, pd.DataFrame(metrics), window=20, stops=stops).set_index("arm")
    assert final.loc["warm", "final_test_acc"] == pytest.approx(0.75)  # epochs 3 and 4, after the threshold at 2
    assert final.loc["warm", "stop_epoch"] == 2 and final.loc["fresh", "stop_epoch"] == 1  # eval mode where measured
    assert final.converged.all()


def test_a_run_trained_until_a_training_accuracy_reports_its_accuracy_at_the_stop():
    # stopped at epoch 11 with a window of 20: the mean over the window would reach back to epoch 1
    stopped = _curves("warm", [0.1] + [0.5] * 10 + [0.995], [0.1] + [0.3] * 10 + [0.6])
    rows = [{"experiment": "table1", "condition": "c", "arm": a, "seed": 0, "run": a, "parent": ""} for a in ("warm", "fresh")]
    fresh = _curves("fresh", [0.1, 0.5, 0.995], [0.1, 0.4, 0.7])
    final = final_table(
        rows,
        pd.DataFrame(stopped + fresh),
        window=20,
        stops=STOPS,
    ).set_index("arm")
    assert final.loc["warm", "final_test_acc"] == pytest.approx(0.6) and final.loc["warm", "final_train_acc"] == pytest.approx(0.995)
    assert final.loc["warm", "stop_epoch"] == 11 and final.loc["fresh", "stop_epoch"] == 2
    assert final.converged.all()
    capped = _curves("warm", [0.1] + [0.5] * 11, [0.1] + [0.3] * 11)  # reached its epoch cap below 99%
    final = final_table(
        rows,
        pd.DataFrame(capped + fresh),
        window=20,
        stops=STOPS,
    ).set_index("arm")
    assert pd.isna(final.loc["warm", "stop_epoch"]) and not final.converged.any()  # neither arm of the pair counts


def test_a_fixed_length_run_converges_only_before_its_final_window():
    rows = [{"experiment": "fraction", "condition": "c", "arm": a, "seed": 0, "run": a, "parent": ""} for a in ("warm", "fresh")]
    warm = _curves("warm", [0.1, 0.995, 1.0, 1.0, 1.0], [0.1] * 5)
    for fresh_train, converged in (([0.1, 0.5, 0.995, 1.0, 1.0], True), ([0.1, 0.5, 0.9, 0.995, 1.0], False)):
        fresh = _curves("fresh", fresh_train, [0.1] * 5)
        final = final_table(rows, pd.DataFrame(warm + fresh), window=2).set_index("arm")
        assert final.loc["warm", "stop_epoch"] == 1 and bool(final.loc["fresh", "converged"]) is converged
        assert final.loc["warm", "converged"] == final.loc["fresh", "converged"]  # a row speaks for its pair


def _summary(final: pd.DataFrame, experiments: dict[str, dict], tables: dict | None = None) -> str:
    """``summary.md`` from a final table, as the gap and summary rules write it."""
    from warmstart.experiments import claims_all, judge_all, notes_all

    tables = {"final": final} | (tables or {})
    rules = {"alpha": 0.05, "margin_accuracy": 0.005, "margin_epochs": 2}
    contrasts = judge_all(tables, experiments, rules)
    notes, claims = notes_all(tables, experiments), claims_all(experiments)
    return summary(gap_table(final, contrasts), final, contrasts, notes, "test setting", rules, claims)


def test_tables_pair_runs_by_seed_whatever_the_row_order():
    rows, metrics = [], []
    warm_acc, fresh_acc = {0: 0.50, 1: 0.70, 2: 0.60}, {0: 0.52, 1: 0.725, 2: 0.615}
    for seed in (2, 0, 1):
        for arm, acc in (("warm", warm_acc), ("fresh", fresh_acc)):
            run = f"{arm}/seed~{seed}"
            rows.append(
                {"experiment": "fraction", "condition": "fraction=0.5", "arm": arm, "seed": seed, "run": run, "parent": "", "fraction": 0.5}
            )
            metrics += _metrics(run, [0.1, 0.3, acc[seed], acc[seed]])
    final = final_table(rows[::-1], pd.DataFrame(metrics), window=2)
    assert list(final.columns[: len(FINAL_COLUMNS)]) == FINAL_COLUMNS and "fraction" in final.columns and final.converged.all()
    gap = gap_table(final)
    assert list(gap.columns) == GAP_COLUMNS + ["fraction", "p_holm", "reading"] and len(gap) == 1
    assert gap.gap_mean[0] == pytest.approx(0.02) and gap.fraction[0] == 0.5 and gap.reading[0] == "gap"
    assert gap.gap_ci_low[0] > 0  # paired: every seed's gap is positive
    text = _summary(final, {"fraction": {"curves_fraction": 0.5}})
    assert "Verdict: reproduced" in text and "| fraction=0.5 | 3 |" in text


def _fraction_final(gaps: list[float], converged: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"experiment": "fraction", "condition": "fraction=0.5", "fraction": 0.5, "arm": arm, "seed": s, "run": f"{arm}{s}",
             "final_test_acc": 0.6 + (g if arm == "fresh" else 0), "final_train_acc": 1.0, "converged": converged}
            for s, g in enumerate(gaps)
            for arm in ("warm", "fresh")
        ]
    )  # fmt: skip


def test_summary_never_claims_a_reproduction_the_interval_does_not_support():
    cfg = {"fraction": {"curves_fraction": 0.5}}
    for gaps, word in (
        ([-0.01, 0.02, 0.005, 0.0], "Verdict: inconclusive"),  # the interval contains 0
        ([-0.03, -0.01, -0.02, -0.025], "Verdict: not reproduced"),
        ([0.03, 0.01, 0.02, 0.025], "Verdict: reproduced"),
    ):
        assert word in _summary(_fraction_final(gaps), cfg)
    text = _summary(_fraction_final([0.03, 0.01, 0.02, 0.025], converged=False), cfg)
    assert "Verdict: not converged" in text and "| **no** |" in text  # shown, flagged, no verdict


def _diag(sharper: float, noisier: float, seen: tuple[float, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic diagnostics of 4 seeds: on the unseen examples the warm run ends ``sharper`` and
    sees ``noisier`` early tr Σ; on the seen ones by ``seen`` (default: the same)."""
    rows, final = [], []
    for seed in range(4):
        jitter = 0.1 * seed
        for half, (sh, no) in (("unseen", (sharper, noisier)), ("seen", seen or (sharper, noisier))):
            for arm, eig, noise in (("warm", 10 + sh + jitter, 5 + no), ("fresh", 10, 5 + jitter)):
                for epoch, q, v in ((4, "hessian_eig1", eig), (1, "grad_trace_cov", noise), (2, "grad_trace_cov", noise)):
                    rows.append({"experiment": "fraction", "condition": "fraction=0.5", "arm": arm, "seed": seed, "run": f"{arm}{seed}",
                                 "epoch": epoch, "half": half, "quantity": q, "value": v})  # fmt: skip
        for arm, acc in (("warm", 0.58), ("fresh", 0.60 + 0.01 * seed)):
            final.append({"experiment": "fraction", "condition": "fraction=0.5", "arm": arm, "seed": seed, "final_test_acc": acc,
                          "converged": True})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(final)


def test_hypothesis_verdict_follows_the_paired_intervals_on_each_half():
    from warmstart.experiments import hypothesis, judge_all
    from warmstart.verdicts import verdict

    diag, final = _diag(sharper=2.0, noisier=-1.0, seen=(-2.0, 2.0))
    h = hypothesis.per_seed(diag, final, "unseen")
    assert h.d_sharpness.tolist() == pytest.approx([2.0, 2.1, 2.2, 2.3])
    assert h.d_noise.tolist() == pytest.approx([1.0, 1.1, 1.2, 1.3])
    assert h.gap.tolist() == pytest.approx([0.02, 0.03, 0.04, 0.05])
    assert hypothesis.per_seed(diag, final, "seen").d_sharpness.tolist() == pytest.approx([-2.0, -1.9, -1.8, -1.7])
    rules = {"alpha": 0.05, "margin_accuracy": 0.005, "margin_epochs": 2}

    def judged(diag, final):
        return judge_all({"diagnostics": diag, "final": final}, {"hypothesis": {}}, rules)

    j = judged(diag, final)
    assert list(j.status) == ["against", "against", "supported", "supported"]  # seen, seen, unseen, unseen; Holm over four
    assert verdict(j) == "partly reproduced"
    assert verdict(judged(*_diag(sharper=2.0, noisier=-1.0))) == "reproduced"
    assert verdict(judged(*_diag(sharper=-2.0, noisier=2.0))) == "not reproduced"
    assert verdict(judged(*_diag(sharper=2.0, noisier=2.0))) == "partly reproduced"
    text = _summary(final, {"hypothesis": {}}, {"diagnostics": diag})
    assert "**Verdict: partly supported**" in text


def test_the_speed_verdict_counts_the_kept_units_conditions_not_the_plain_warm_start():
    # keeping 1 unit: no faster than fresh; the plain warm start (keep_first = all 3 units) is much faster
    rows = []
    for seed in range(4):
        for keep, warm_epochs in ((1, 20 + seed % 2), (3, 5)):
            for arm, epochs in (("warm", warm_epochs), ("fresh", 20 + (seed + 1) % 2)):
                rows.append({"experiment": "speed", "condition": f"keep_first={keep}", "arm": arm, "seed": seed, "keep_first": keep,
                             "run": f"{arm}{keep}{seed}", "final_test_acc": 0.5, "final_train_acc": 1.0, "converged": True,
                             "epochs_to_threshold": epochs})  # fmt: skip
    text = _summary(pd.DataFrame(rows), {"speed": {"keep_first": [1], "threshold": 0.5}})
    assert "Verdict: reproduced" in text  # the plain warm start is the positive control, not a kept-units condition
    assert "keep first 1: epochs warm - fresh (equivalence, margin ±2.0): +0.0" in text


def test_the_confirmation_table_says_which_verdicts_held():
    from warmstart.summary import confirmation

    def rows(*status):  # effect contrasts of the fraction experiment's claim
        return pd.DataFrame([{"experiment": "fraction", "claim": "main", "contrast": f"c{i}", "kind": "effect", "status": s}
                             for i, s in enumerate(status)])  # fmt: skip

    assert "| reproduced | reproduced | yes |" in confirmation(rows("supported"), rows("supported"))
    assert "| reproduced | inconclusive | **no** |" in confirmation(rows("supported"), rows("inconclusive"))
    assert "**no** (judged on 1 contrasts, the original on 2) |" in confirmation(rows("supported", "inconclusive"), rows("supported"))
