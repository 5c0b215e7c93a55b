import numpy as np
import pandas as pd
import pytest
from scipy import stats

from warmstart.stats import paired_gap
from warmstart.summary import summary
from warmstart.tables import FINAL_COLUMNS, GAP_COLUMNS, final_table, gap_table


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


def _metrics(run, test_accs, fit=1.0):
    """Metric rows of a run: epoch 0 evaluates the start, then per epoch the running training
    accuracy, the eval-mode training accuracy ``fit`` (the stopping rule's) and the test accuracy."""
    rows = []
    for e, acc in enumerate(test_accs):
        rows += [
            {"run": run, "epoch": e, "split": "test", "loss": 1.0, "acc": acc},
            {"run": run, "epoch": e, "split": "train", "loss": 1.0, "acc": fit if e else 0.1},
        ]
        if e:
            rows.append({"run": run, "epoch": e, "split": "train_eval", "loss": 1.0, "acc": fit})
    return rows


def _curves(run, fits, test_accs):
    """Metric rows with an eval-mode training accuracy per epoch (``fits[0]`` is the start's)."""
    rows = []
    for e, (tr, te) in enumerate(zip(fits, test_accs)):
        rows += [
            {"run": run, "epoch": e, "split": "test", "loss": 1.0, "acc": te},
            {"run": run, "epoch": e, "split": "train", "loss": 1.0, "acc": tr},
        ]
        if e:
            rows.append({"run": run, "epoch": e, "split": "train_eval", "loss": 1.0, "acc": tr})
    return rows


RULE = {"train_acc": 0.99, "consecutive": 2}
ROWS = [{"experiment": "fraction", "condition": "c", "arm": a, "seed": 0, "run": a, "parent": ""} for a in ("warm", "fresh")]


def test_a_run_is_read_over_the_epochs_that_stopped_it_and_fits_there():
    # warm: epochs 3 and 4 both at 99% -> stopped at 4, read at 3-4; epoch 1 touched it, epoch 2 dipped
    warm = _curves("warm", [0.4, 0.995, 0.98, 0.99, 0.995], [0.1, 0.5, 0.55, 0.6, 0.7])
    fresh = _curves("fresh", [0.1, 0.5, 0.995, 0.999], [0.1, 0.4, 0.6, 0.8])
    final = final_table(ROWS, pd.DataFrame(warm + fresh), {"warm": RULE, "fresh": RULE}).set_index("arm")
    w = final.loc["warm"]
    assert (w.read_from, w.read_to, w.epochs) == (3, 4, 4) and w.final_test_acc == pytest.approx(0.65)
    assert w.fit_min == pytest.approx(0.99) and w.final_train_acc == pytest.approx(0.9925)
    assert w.stop_epoch == 1 and w.fit_start == pytest.approx(0.4)  # epochs to fit count from the first tuning epoch
    assert final.loc["fresh", "read_from"] == 2 and final.loc["fresh", "stop_epoch"] == 2 and final.converged.all()


def test_a_pair_is_converged_only_when_both_arms_fit_at_every_epoch_read():
    fresh = _curves("fresh", [0.1, 0.5, 0.995, 0.999], [0.1, 0.4, 0.6, 0.8])
    for warm_fits, converged in (([0.4, 0.5, 0.995, 0.98], False), ([0.4, 0.5, 0.6, 0.7], False), ([0.4, 0.5, 0.99, 1.0], True)):
        # the first two reached their cap (epoch 3) without two epochs at 99%: read over the last two, not fitted
        warm = _curves("warm", warm_fits, [0.1, 0.5, 0.55, 0.6])
        final = final_table(ROWS, pd.DataFrame(warm + fresh), {"warm": RULE, "fresh": RULE}).set_index("arm")
        assert final.loc["warm", "fit_min"] == pytest.approx(min(warm_fits[2:]))
        assert (
            bool(final.loc["warm", "converged"]) is converged and bool(final.loc["fresh", "converged"]) is converged
        )  # a row speaks for its pair
    assert pd.isna(final_table(ROWS, pd.DataFrame(_curves("warm", [0.4] * 4, [0.1] * 4) + fresh), {"warm": RULE, "fresh": RULE})
                   .set_index("arm").loc["warm", "stop_epoch"])  # never fitted: no epochs to fit  # fmt: skip


def test_a_convex_run_is_read_at_its_optimum_and_fitted_when_it_reached_it():
    rule = {"train_acc": 0.99, "consecutive": 1}
    for reached in (1.0, 0.0):
        warm = _curves("warm", [0.3, 0.5, 0.6, 0.65], [0.1, 0.3, 0.4, 0.45])  # never 99%: an optimum epoch follows the cap
        warm.append({"run": "warm", "epoch": 3, "split": "optimum", "loss": 1e-6, "acc": reached})
        fresh = _curves("fresh", [0.1, 0.6, 0.65, 0.65], [0.1, 0.3, 0.4, 0.45]) + [
            {"run": "fresh", "epoch": 3, "split": "optimum", "loss": 1e-6, "acc": 1.0}]  # fmt: skip
        final = final_table(ROWS, pd.DataFrame(warm + fresh), {"warm": rule, "fresh": rule}).set_index("arm")
        assert final.loc["warm", "read_from"] == 3 and final.loc["warm", "final_test_acc"] == pytest.approx(0.45)
        assert bool(final.loc["warm", "converged"]) is (reached == 1.0)


def test_a_run_without_the_protocols_rule_cannot_be_read():
    with pytest.raises(ValueError, match="run fresh: a tuning run needs the protocol's stopping rule"):
        final_table(ROWS, pd.DataFrame(_curves("warm", [0.1, 1.0], [0.1, 0.5]) + _curves("fresh", [0.1, 1.0], [0.1, 0.5])),
                    {"warm": RULE})  # fmt: skip


PROTOCOL = {"read": {"train_acc": 0.99, "consecutive": 1}, "alpha": 0.05, "margin_accuracy": 0.005, "margin_epochs": 2,
            "check_tolerance": 0.001}  # fmt: skip


def _summary(final: pd.DataFrame, experiments: dict[str, dict], tables: dict | None = None) -> str:
    """``summary.md`` from a final table, as the gap and summary rules write it."""
    from warmstart.experiments import claims_all, judge_all, notes_all

    tables = {"final": final} | (tables or {})
    contrasts = judge_all(tables, experiments, PROTOCOL)
    notes, claims = notes_all(tables, experiments), claims_all(experiments)
    return summary(gap_table(final, contrasts), final, contrasts, notes, "test setting", PROTOCOL, claims, {"version": 2, "hash": "abc"})


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
    final = final_table(rows[::-1], pd.DataFrame(metrics), {r["run"]: RULE for r in rows})
    assert list(final.columns[: len(FINAL_COLUMNS)]) == FINAL_COLUMNS and "fraction" in final.columns and final.converged.all()
    gap = gap_table(final)
    assert list(gap.columns) == GAP_COLUMNS + ["fraction", "p_holm", "p_equivalent_holm", "reading"] and len(gap) == 1
    assert gap.gap_mean[0] == pytest.approx(0.02) and gap.fraction[0] == 0.5 and gap.reading[0] == "gap"
    assert gap.gap_ci_low[0] > 0  # paired: every seed's gap is positive
    text = _summary(final, {"fraction": {"curves_fraction": 0.5}})
    assert "Verdict: reproduced" in text and "| fraction=0.5 | 3 |" in text and "protocol version 2 (hash `abc`" in text


def _fraction_final(gaps: list[float], converged: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"experiment": "fraction", "condition": "fraction=0.5", "fraction": 0.5, "arm": arm, "seed": s, "run": f"{arm}{s}",
             "final_test_acc": 0.6 + (g if arm == "fresh" else 0), "final_train_acc": 1.0, "fit_min": 1.0, "converged": converged}
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
    assert "Verdict: not converged" in text and "| **0/4** |" in text  # shown, flagged, no verdict
    assert "Pairs fitted where read: 0 of 4 (0%)" in text


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

    def judged(diag, final):
        return judge_all({"diagnostics": diag, "final": final}, {"hypothesis": {}}, PROTOCOL)

    def by_mechanism(j):
        return {claim: verdict(j[j.claim == claim]) for claim in ("noise", "sharpness")}

    j = judged(diag, final)
    assert list(j.status) == ["against", "against", "supported", "supported"]  # seen, seen, unseen, unseen; Holm over four
    assert by_mechanism(j) == {"noise": "mixed", "sharpness": "mixed"}  # each: unseen supported, seen against; never "partly"
    assert by_mechanism(judged(*_diag(sharper=2.0, noisier=-1.0))) == {"noise": "reproduced", "sharpness": "reproduced"}
    assert by_mechanism(judged(*_diag(sharper=-2.0, noisier=2.0))) == {"noise": "not reproduced", "sharpness": "not reproduced"}
    # one mechanism shown, the other contradicted: each claim says which (one verdict would have read "partly supported")
    assert by_mechanism(judged(*_diag(sharper=2.0, noisier=2.0))) == {"noise": "not reproduced", "sharpness": "reproduced"}
    text = _summary(final, {"hypothesis": {}}, {"diagnostics": diag})
    line = next(x for x in text.splitlines() if x.startswith("**Verdict:"))
    assert line.startswith("**Verdict: mixed: supported on one half of the examples, contradicted on the other** (supported: ")
    assert all(name in line for name in j[j.claim == "noise"].contrast) and "; against: " in line


def _speed(fresh_epochs, plain_epochs, kept_epochs, start=0.5) -> pd.DataFrame:
    """A speed experiment's final table: epochs to fit (``stop_epoch``) per seed of fresh, the plain
    warm start (keep_first = all 3 units) and the kept-first-unit start; ``start``, every arm's
    training accuracy at its start."""
    rows = []
    for seed in range(len(fresh_epochs)):
        for keep, warm_epochs in ((1, kept_epochs[seed]), (3, plain_epochs[seed])):
            for arm, epochs in (("warm", warm_epochs), ("fresh", fresh_epochs[seed])):
                rows.append({"experiment": "speed", "condition": f"keep_first={keep}", "arm": arm, "seed": seed, "keep_first": keep,
                             "run": f"{arm}{keep}{seed}", "final_test_acc": 0.5, "final_train_acc": 1.0, "converged": True,
                             "fit_min": 1.0, "fit_start": start, "stop_epoch": epochs})  # fmt: skip
    return pd.DataFrame(rows)


SPEED = {"speed": {"keep_first": [1], "fit_threshold": 0.99}}


def test_the_speed_verdict_counts_the_kept_units_conditions_not_the_plain_warm_start():
    # keeping 1 unit: no faster than fresh; the plain warm start (keep_first = all 3 units) is much faster
    fresh = [20 + (s + 1) % 2 for s in range(4)]
    text = _summary(_speed(fresh, [5] * 4, [20 + s % 2 for s in range(4)]), SPEED)
    assert "Verdict: reproduced" in text  # the plain warm start is the positive control, not a kept-units condition
    assert "keep first 1: epochs warm - fresh (equivalence, margin ±2.0): +0.0 [90% unadjusted:" in text


def test_the_speed_control_can_fail_and_cannot_be_met_at_the_start():
    """Simulated studies where the plain warm start is exactly as fast as fresh (epochs to fit drawn
    from one distribution): the positive control comes out supported in at most alpha of them, so
    the claim is not reproduced on a speed-up the measurement cannot see. An arm that already fits
    at its start makes the contrast uninformative: not converged."""
    from warmstart.experiments import judge_all

    rng = np.random.default_rng(7)
    supported = 0
    for _ in range(200):
        e = rng.normal(30, 5, (3, 16)).round()
        j = judge_all({"final": _speed(e[0], e[1], e[2])}, SPEED, PROTOCOL)
        supported += j.status[j.kind == "control"].iloc[0] == "supported"
    assert supported / 200 <= 0.05
    j = judge_all({"final": _speed([30] * 4, [5, 6, 5, 6], [30] * 4, start=0.995)}, SPEED, PROTOCOL)
    assert (j.status == "not converged").all()


def test_the_confirmation_lists_every_contrasts_status_on_both_sides():
    from warmstart.summary import confirmation

    def rows(*status, kinds=None):  # effect contrasts of the fraction experiment's claim
        return pd.DataFrame([{"experiment": "fraction", "claim": "main", "contrast": f"c{i}", "kind": (kinds or {}).get(i, "effect"),
                              "status": s} for i, s in enumerate(status)])  # fmt: skip

    assert "| reproduced | reproduced | yes |" in confirmation(rows("supported"), rows("supported"))
    text = confirmation(rows("supported", "supported"), rows("supported", "inconclusive"))
    assert "| reproduced | partly reproduced | **no** |" in text and "| fraction | main | c1 | supported | inconclusive | **yes** |" in text
    assert "1 of 2 primary contrasts kept their status" in text
    text = confirmation(rows("supported", "inconclusive"), rows("supported"))  # a contrast on one side only
    assert "| fraction | main | c1 | inconclusive | (absent) | **yes** |" in text
    text = confirmation(rows("supported", "check passed", kinds={1: "check"}), rows("supported", "check failed", kinds={1: "check"}))
    assert "c1" not in text and "1 of 1 primary contrasts" in text  # identities are no part of the confirmation


def test_a_parameter_survives_a_table_on_disk_exactly(tmp_path):
    from warmstart.experiments.base import select
    from warmstart.tables import read

    values = [1 / 3, 0.1 + 0.2, 0.5, 1e-05]
    pd.DataFrame({"experiment": "x", "fraction": values, "seed": range(4)}).to_csv(tmp_path / "final.csv", index=False)
    back = read(tmp_path / "final.csv")
    assert [len(select(back, "x", fraction=v)) for v in values] == [1, 1, 1, 1]
    assert select(back, "x", fraction=0.3).empty  # exact: 0.1 + 0.2 is not 0.3


def test_table1_puts_the_published_numbers_of_the_setting_shared_in_kind_beside_a_data_set_the_paper_did_not_use():
    from warmstart.experiments.table1 import markdown, measured

    gap = pd.DataFrame(
        [{"experiment": "table1", "dataset": d, "model": m, "optimizer": o, "n": 16, "fresh_mean": 0.9, "warm_mean": 0.88,
          "gap_mean": 0.02, "gap_ci_low": 0.01, "gap_ci_high": 0.03, "p_value": 0.001}
         for d, m, o in (("digits", "mlp", "sgd"), ("cifar10", "resnet", "adam"), ("digits", "logreg", "adam"))]
    )  # fmt: skip
    t = measured(gap).set_index(["dataset", "model"])
    assert tuple(t.loc[("digits", "mlp"), ["paper_dataset", "paper_fresh", "paper_warm"]]) == ("cifar10", 39.0, 37.4)
    assert tuple(t.loc[("cifar10", "resnet"), ["paper_dataset", "paper_fresh", "paper_warm"]]) == ("cifar10", 78.0, 74.4)
    assert pd.isna(t.loc[("digits", "logreg"), "paper_fresh"])  # none published for the kind
    assert "| digits | mlp | sgd | 16 | 90.0 | 88.0 | 2.0 [1.0, 3.0] | 0.001 | 39.0 / 37.4 (cifar10) |" in markdown(measured(gap))


def test_a_run_diagnosed_for_two_experiments_appears_under_each_at_its_own_epochs():
    from warmstart.tables import diagnostics_table

    rows = pd.DataFrame([{"run": "r", "epoch": e, "half": "unseen", "quantity": "q", "value": float(e)} for e in (0, 5, 200)])
    targets = [
        {"experiment": "fraction", "condition": "fraction=0.5", "arm": "warm", "seed": 0, "run": "r", "epochs": [0, 5, 200]},
        {"experiment": "arena", "condition": "intervention=none", "arm": "warm", "seed": 0, "run": "r", "epochs": [200]},
    ]
    t = diagnostics_table(rows, targets)
    assert t[t.experiment == "fraction"].epoch.tolist() == [0, 5, 200]
    assert t[t.experiment == "arena"].epoch.tolist() == [200] and t[t.experiment == "arena"].value.tolist() == [200.0]


def test_a_better_network_with_the_same_gap_does_not_count_as_closing_it():
    from warmstart.experiments import arena

    rng = np.random.default_rng(0)
    records = []
    for seed in range(8):
        base = 0.6 + rng.normal(0, 0.01)
        for cond, arm, acc in (("none", "warm", base), ("none", "fresh", base + 0.03),
                               ("layernorm", "layernorm", base + 0.05), ("layernorm", "fresh", base + 0.08)):  # fmt: skip
            records.append({"experiment": "arena", "condition": f"intervention={cond}", "intervention": cond, "arm": arm, "seed": seed,
                            "run": f"{cond}/{arm}/{seed}", "final_test_acc": acc, "converged": True})  # fmt: skip
    cs = arena.contrasts({"final": pd.DataFrame(records)}, {"arms": [{"name": "layernorm"}]})
    effect, equivalence = cs
    assert effect.kind == "effect" and np.allclose(effect.values, 0.0)  # 5 points better than plain warm, but its own gap is as wide
    assert equivalence.kind == "equivalence" and np.allclose(equivalence.values, 0.03)  # against its own fresh start


def test_a_band_over_seeds_skips_epochs_nothing_was_measured_at():
    """A quantity switched off (``hessian.trace_samples: 0``) is all NaN: nothing is drawn and the
    figure is still made; elsewhere each epoch's mean is over the seeds measured there."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from warmstart.plotting import band

    fig, ax = plt.subplots()
    band(ax, pd.DataFrame({0: [np.nan, np.nan], 1: [np.nan, np.nan]}, index=[0, 1]), 0, "k", "off")
    assert not ax.lines
    band(ax, pd.DataFrame({0: [1.0, 2.0, np.nan], 1: [3.0, np.nan, np.nan]}, index=[0, 1, 2]), 0, "k", "on")
    (line,) = ax.lines
    assert list(line.get_xdata()) == [0, 1] and list(line.get_ydata()) == [2.0, 2.0]
    plt.close(fig)
