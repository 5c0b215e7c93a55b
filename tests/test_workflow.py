"""The workflow itself, through `python -m snakemake`, on the tiny config in a temporary copy."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from studies import copy_workflow, planned, snakemake
from test_runs import study

from warmstart import experiments, interventions, names, runs
from warmstart.config import auto_precision
from warmstart.experiments import EXPERIMENTS, chain
from warmstart.tables import DIAGNOSTICS_COLUMNS, FINAL_COLUMNS, GAP_COLUMNS, TIMING_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def variant(workdir: Path, name: str, edit) -> str:
    """A copy of the tiny config with ``edit`` applied, for dry runs."""
    config = yaml.safe_load((workdir / "configs/tiny.yaml").read_text())
    edit(config)
    (workdir / f"configs/{name}.yaml").write_text(yaml.safe_dump(config))
    return f"configs/{name}.yaml"


@pytest.fixture(scope="module")
def workdir(tiny_study):
    """The finished tiny study (trained once per session, conftest.py)."""
    return tiny_study


def test_the_whole_study_runs_and_writes_the_contract_tables(workdir):
    r = workdir / "results"
    final = pd.read_csv(r / "tables/final.csv")
    assert list(final.columns[: len(FINAL_COLUMNS)]) == FINAL_COLUMNS
    assert set(final.experiment) == set(EXPERIMENTS)  # the tiny config exercises every experiment
    assert final.final_test_acc.between(0, 1).all() and final.final_train_acc.between(0, 1).all()
    fr = final[final.experiment == "fraction"]
    assert len(fr) == 2 * 2 * 2 and fr.epochs.le(4).all() and set(fr.fraction) == {0.25, 0.5}
    gap = pd.read_csv(r / "tables/gap.csv")
    assert list(gap.columns[: len(GAP_COLUMNS)]) == GAP_COLUMNS and (gap.n == 2).all()
    assert {"fraction", "gamma", "reset", "p_holm", "reading"} <= set(gap.columns)  # no consumer parses `condition`
    assert set(gap.reading) <= {"gap", "reversed", "equivalent", "none"}
    contrasts = pd.read_csv(r / "tables/contrasts.csv")
    assert set(contrasts.experiment) <= set(EXPERIMENTS) | {"hypothesis"} and set(contrasts.status) <= {
        "supported", "against", "inconclusive", "not converged", "check passed"}  # fmt: skip
    checks = contrasts[contrasts.kind == "check"]  # the arena's restored full reset and Table 1's convex optimum
    assert set(checks.experiment) == {"arena", "table1"} and checks.p_effect_holm.isna().all()
    assert set(contrasts.condition.dropna()) <= set(gap.condition)  # a primary gap is a row of gap.csv
    assert set(gap.dropna(subset=["p_holm"]).condition) <= set(contrasts[contrasts.status != "not converged"].condition)
    assert len(gap) == final[["experiment", "condition"]].drop_duplicates().shape[0]
    # resetting every unit after pretraining is exactly the fresh start: a gap of 0 in every seed
    everything = gap[gap.condition == "reset=layer1+layer2+head,reset_mode=restore"].iloc[0]
    assert everything.gap_mean == 0 and everything.p_value == 1
    arena = gap[(gap.experiment == "arena") & (gap.condition == "intervention=reset_all_restore")].iloc[0]
    assert arena.gap_mean == 0  # the arena's restored full reset is the fresh start, paired with it
    timing = pd.read_csv(r / "tables/timing.csv")  # every run's cost, apart from the results
    assert list(timing.columns) == TIMING_COLUMNS and set(final.run) <= set(timing.run) and timing.seconds.gt(0).all()
    assert "seconds" not in final.columns
    metrics = pd.read_csv(r / "tables/metrics.csv")
    runs_csv = pd.read_csv(r / "tables/runs.csv")
    assert list(metrics.columns) == ["run", "epoch", "split", "loss", "acc"]
    # recomputed from the raw metrics: every tuning run stops at its first 2 consecutive epochs at 15% eval-mode training
    # accuracy (the tiny protocol), counting only epochs after the smooth shift's 2-epoch drift for both its arms, or at
    # its cap (4), and is read over its last two epochs; a pair is converged when both arms fit at both
    fit = metrics[metrics.split == "train_eval"].pivot(index="run", columns="epoch", values="acc")
    nonconvex = final[final.experiment != "table1"]  # Table 1's logistic regression is read at its optimum's epoch
    fitted = {}
    for row in nonconvex.drop_duplicates("run").itertuples():
        known = fit.loc[row.run].dropna()  # an epoch not evaluated in full was below the threshold (censored)
        curve = fit.loc[row.run].loc[1 : known.index.max()].fillna(0.0)
        ok = (curve >= 0.15) & (curve.index > (2 if row.experiment == "smooth_shift" else 0))
        streak = ok.astype(int).groupby((~ok).cumsum()).cumsum()
        stop = streak.index[streak >= 2].min() if (streak >= 2).any() else 4
        assert known.index.max() == stop and (row.read_from, row.read_to) == (stop - 1, stop), row.run
        fitted[row.run] = curve.loc[stop - 1 : stop].min() >= 0.15
        assert row.fit_min == pytest.approx(curve.loc[stop - 1 : stop].min())
    # the runs a figure draws are evaluated at every epoch (from 0); the others only where they can be read
    drawn = {run for run in runs_csv.run if json.loads((r / f"runs/{run}/provenance.json").read_text())["curves"]}
    tested, last = metrics[metrics.split == "test"].groupby("run").epoch.nunique(), metrics.groupby("run").epoch.max()
    assert drawn and all(tested[run] == last[run] + 1 for run in drawn)
    assert (tested[nonconvex.run[~nonconvex.run.isin(drawn)]] < last[nonconvex.run[~nonconvex.run.isin(drawn)]] + 1).any()
    pairs = nonconvex.run.map(fitted).groupby([nonconvex.experiment, nonconvex.condition, nonconvex.seed]).transform("all")
    assert (nonconvex.converged == pairs).all() and 0 < nonconvex.converged.mean() < 1  # the tiny study exercises both
    assert set(metrics.run) == set(runs_csv.run) and set(final.run) <= set(runs_csv.run)
    summary = (r / "summary.md").read_text()
    tiny = study()
    claims = sum(len(experiments.claims(name, experiments.settings(tiny, name))) for name in [*EXPERIMENTS, "hypothesis"])
    assert all(f"(`{name}`)" in summary for name in EXPERIMENTS) and summary.count("**Verdict:") == claims
    for name in [*EXPERIMENTS, "fraction_curves", "primary"]:
        assert (r / f"figures/{name}.png").stat().st_size > 10_000 and (r / f"figures/{name}.pdf").stat().st_size > 5_000
    assert "| mnist1d | logreg | adam | 2 |" in (r / "tables/table1.md").read_text()
    assert "\\begin{tabular}" in (r / "tables/table1.tex").read_text()
    prov = json.loads((r / "runs/mnist1d/mlp/adam/warm/fraction~0.5/seed~1/provenance.json").read_text())
    assert prov["run"]["parent"] == "mnist1d/mlp/adam/pretrain/fraction~0.5/seed~1" and prov["git_commit"] and prov["versions"]["torch"]
    assert not list(r.rglob("resume-*.pt")) and not list(r.rglob(".*.tmp*"))


def test_diagnostics_are_measured_on_saved_states_and_answer_the_hypothesis(workdir):
    r = workdir / "results"
    every = pd.read_csv(r / "tables/diagnostics.csv")
    assert list(every.columns) == DIAGNOSTICS_COLUMNS
    # every arena arm at its end (a network's own fresh start under its condition), every chain at every round
    arena = every[every.experiment == "arena"]
    labels = {interventions.label(a) for a in study()["experiments"]["arena"]["arms"]}
    assert set(arena.arm) == {"warm", "fresh"} | labels and arena.epoch.eq(4).all()
    assert set(arena[arena.arm == "fresh"].condition) == {"intervention=none", "intervention=layernorm", "intervention=crelu"}
    chain = every[every.experiment == "chain"]
    assert set(chain.arm) == {"warm", "fresh"} | set(study()["experiments"]["chain"]["arms"])
    assert {"stable_rank", "grad_norm", "weight_norm_layer1", "weight_norm_head"} <= set(every.quantity)
    diag = every[every.experiment == "fraction"]
    assert set(diag.arm) == {"pretrain", "warm", "fresh"} and diag.seed.nunique() == 2
    assert set(diag.half) == {"seen", "unseen"}
    seen = diag[diag.half == "seen"].set_index(["run", "epoch", "quantity"]).value
    unseen = diag[diag.half == "unseen"].set_index(["run", "epoch", "quantity"]).value
    assert (seen.xs("weight_norm", level="quantity") == unseen.xs("weight_norm", level="quantity")).all()  # same states
    assert (seen.xs("hessian_eig1", level="quantity") != unseen.xs("hessian_eig1", level="quantity")).any()  # other data
    diag = diag[diag.half == "unseen"]
    tune = diag[diag.arm != "pretrain"]
    assert sorted(tune.epoch.unique()) == [0, 2, 4]  # configs/tiny.yaml: epochs [0, 2] and the end (4)
    eig = diag[diag.quantity == "hessian_eig1"].pivot_table(index=["seed", "epoch"], columns="arm", values="value")
    # the warm run starts where pretraining ended: the same parameters, the same sharpness
    ends = diag[(diag.arm == "pretrain") & (diag.quantity == "hessian_eig1")].set_index("seed").value
    assert all(eig.loc[(s, 0), "warm"] == pytest.approx(ends[s], rel=1e-5) for s in (0, 1))
    dist = diag[(diag.quantity == "dist_start") & (diag.epoch == 0)]
    assert (dist[dist.arm != "pretrain"].value == 0).all()
    noise = diag[diag.quantity == "grad_trace_cov"]
    assert sorted(noise[noise.arm == "warm"].epoch.unique()) == [0, 2]
    for family in ("sharpness", "noise", "gradient", "weights", "representation"):
        assert (r / f"figures/diagnostics_{family}.png").stat().st_size > 10_000
    assert (r / "figures/hypothesis.png").stat().st_size > 10_000
    assert "## The hypothesis, measured directly" in (r / "summary.md").read_text()


def test_a_finished_study_has_nothing_left_to_do(workdir):
    assert planned(workdir) == {}


def test_docs_are_published_only_from_runs_of_one_clean_commit(workdir, tmp_path):
    """`snakemake docs` refuses, in one line naming the code states, to write docs/measured.md from
    runs not trained by one clean commit (the tiny study's copy has no git: `unknown`), leaving
    nothing written; asked explicitly, it writes them and names them."""
    work = tmp_path / "study"
    shutil.copytree(workdir, work, symlinks=True)
    (work / "docs").mkdir()
    (work / "docs/measured.md").write_text("the published study")  # a refusal leaves what is published as it is
    out = snakemake(work, "--cores", "1", "docs", "--configfile", "configs/tiny.yaml")
    assert out.returncode != 0 and (work / "docs/measured.md").read_text() == "the published study"
    line = next(x for x in out.stderr.splitlines() if x.startswith("Error: results/runs"))
    assert "unknown (" in line and "one clean commit" in line and "Traceback" not in out.stderr
    out = snakemake(work, "--cores", "1", "docs", "--configfile", "configs/tiny.yaml", "--config", "docs_mixed_code=True")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "trained by `unknown`" in (work / "docs/measured.md").read_text()


def test_a_run_trained_under_another_protocol_stops_the_verdicts_in_one_line(workdir, tmp_path):
    """A run whose recorded protocol hash is not the study's stops the verdicts (the gap job) with one
    line naming it and both hashes; listed under protocol.compatible with a reason, it is accepted."""
    work = tmp_path / "study"
    shutil.copytree(workdir, work, symlinks=True)
    run = "mnist1d/mlp/adam/fresh/seed~0"
    path = work / f"results/runs/{run}/provenance.json"
    record = json.loads(path.read_text())
    study_hash = record["protocol"]["hash"]
    record["protocol"]["hash"] = "0123456789ab"
    path.write_text(json.dumps(record))
    out = snakemake(work, "--cores", "1", "--configfile", "configs/tiny.yaml")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    line = next(x for x in out.stderr.splitlines() if x.startswith("Error: results/runs:"))
    assert f"1 runs under 0123456789ab (e.g. {run})" in line and f"the study's protocol hash is {study_hash}" in line
    accepted = variant(work, "accepted", lambda c: c["protocol"].update(compatible={"0123456789ab": "a test: the same protocol"}))
    out = snakemake(work, "--cores", "1", "--configfile", accepted)
    assert out.returncode == 0, out.stderr[-2000:]


def embedded(html: str, name: str) -> dict:
    """The JSON object a Snakemake report embeds as ``var <name> = {...}`` (after its scripts)."""
    start = list(re.finditer(rf"var {name} = (?=\{{)", html))[-1].end()
    return json.JSONDecoder().raw_decode(html, start)[0]


def test_the_html_report_shows_every_figure_with_its_caption_under_its_experiment(workdir):
    out = snakemake(workdir, "--configfile", "configs/tiny.yaml", "--report", "report.html")
    assert out.returncode == 0, out.stderr[-2000:]
    html = (workdir / "report.html").read_text()
    results, categories = embedded(html, "results"), embedded(html, "categories")
    figures = experiments.figures(study())
    for name, (experiment, figure) in figures.items():
        key, title = f"results/figures/{name}.png", experiments.title(experiment)
        assert key in categories[title]["Other"], (name, title)
        words = re.sub(r"[`*]", "", figure.caption).split()[:6]  # the caption, as reStructuredText renders it
        assert " ".join(words) in re.sub(r"<[^>]+>", "", results[key]["caption"]).replace("\n", " "), name
    assert set(categories) == {experiments.title(e) for e, _ in figures.values()} | {"Summary"}
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium: the report's rendering is checked where it is installed (.ci/run installs it)")
    headless = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000"]
    url = (workdir / "report.html").as_uri()
    dom = subprocess.run([*headless, "--dump-dom", url], capture_output=True, text=True, timeout=300).stdout
    app = re.sub(r"<script.*?</script>", "", dom[dom.index('<div id="app">') :], flags=re.S)
    shown = {html_text.replace("&amp;", "&") for html_text in re.findall(r">([^<>]+)<", app)}
    assert set(categories) <= shown  # the report's own JavaScript ran and lists every experiment
    shot = workdir / "report.png"
    subprocess.run([*headless, "--window-size=1280,900", f"--screenshot={shot}", url], capture_output=True, timeout=300)
    assert shot.stat().st_size > 20_000


def test_a_finished_study_moved_elsewhere_with_its_library_plans_nothing(workdir, tmp_path):
    moved = tmp_path / "moved"  # another absolute path for the study and for the library it imports
    shutil.copytree(workdir, moved, symlinks=True)
    assert planned(moved) == {}


def trained(jobs: dict[str, list[str]]) -> set[str]:
    """The runs whose outputs a dry run would write (``run`` jobs), each inside a planned shard."""
    runs_ = {t.removeprefix("run=") for t in jobs.get("run", [])}
    in_shards = {r for t in jobs.get("train", []) for r in names.members(t.removeprefix("shard="))}
    assert runs_ <= in_shards
    return runs_


def test_adding_a_seed_trains_only_that_seeds_runs_in_new_shards(workdir):
    def three(c):  # the study's seeds and every section's that follows them (as study(seeds=3) does)
        for section in c["experiments"].values():
            if section.get("seeds") == c["seeds"]:
                section["seeds"] = 3
        c["seeds"] = 3

    jobs = planned(workdir, variant(workdir, "seeds3", three))
    expected = {r for r in experiments.build(study(seeds=3)).runs if r.endswith("/seed~2")}
    assert trained(jobs) == expected
    assert all(t.endswith("/seeds~2") for t in jobs["train"])  # the finished seeds are not retrained with it
    assert "prepare_data" not in jobs and "subset" not in jobs


def test_changing_tuning_epochs_reruns_tuning_and_what_depends_on_it_only(workdir):
    jobs = planned(workdir, variant(workdir, "tune5", lambda c: c["train"].update(tune_epochs=5)))
    table = experiments.build(study())
    # every tuning run (Table 1's and the chain's rounds use tune_epochs as their cap), no pretraining or stage run
    tuning = {k for k, r in table.runs.items() if r["order_seed"][1] == runs.TUNE or r["order_seed"][1] > chain.CHAIN}
    assert trained(jobs) == tuning
    assert len(jobs["train"]) == len({names.split(r)[0] for r in tuning})  # one job per shard of 2 seeds
    assert "prepare_data" not in jobs and "subset" not in jobs
    assert {"tables", "gap", "summary", "figure"} <= set(jobs)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["train"].update(seeds_per_job=1),
        lambda c: c["train"].update(checkpoint_every=1),
        lambda c: c["train"].update(channels_last=True, compile=True, threads=2),
    ],
    ids=["shard size", "checkpoint interval", "speed switches"],
)
def test_settings_that_do_not_change_a_result_retrain_nothing(workdir, edit):
    assert planned(workdir, variant(workdir, "same", edit)) == {}


def test_auto_precision_trains_what_it_resolves_to_here(workdir):
    """The tiny study is fp32; ``auto`` retrains nothing where it resolves to fp32 (a CPU without
    native bf16) and every run where it resolves to bf16 (a bf16 run is another run)."""
    jobs = planned(workdir, variant(workdir, "auto", lambda c: c["train"].update(precision="auto")))
    if auto_precision("cpu") == "fp32":
        assert jobs == {}
    else:
        assert trained(jobs) == set(experiments.build(study()).runs)


def test_experiments_and_diagnostics_do_not_change_each_others_runs(workdir):
    jobs = planned(workdir, variant(workdir, "nolength", lambda c: c["experiments"]["pretrain_length"].update(enabled=False)))
    assert "train" not in jobs and "run" not in jobs  # its snapshots came from the fixed grid, not from its requests
    jobs = planned(workdir, variant(workdir, "diag", lambda c: c["diagnostics"].update(epochs=[0, 1])))
    assert "train" not in jobs and "run" not in jobs and "diagnose" in jobs


EVERY_FIGURE = set(experiments.figures(study()))


@pytest.mark.parametrize(
    "path,figures,others",
    [
        # its figure (no other experiment uses its code: speed shares its runs through the run table, the arena and the chain
        # take resets from the intervention registry), its verdicts (the module holds them) with what reads them (the
        # overview, Table 1's table): no training
        (
            "warmstart/experiments/reset.py",
            {"reset", "primary"},
            {"gap", "summary", "table"},
        ),
        ("warmstart/summary.py", set(), {"summary"}),
        # the verdict rules: the tables that carry their columns, and everything drawn from them (the diagnostics table's
        # code hash is the tables module's, which imports them)
        ("warmstart/verdicts.py", EVERY_FIGURE, {"tables", "diagnostics_table", "gap", "summary", "table"}),
        ("warmstart/style.mplstyle", EVERY_FIGURE, set()),
    ],
    ids=["an experiment", "the summary", "the verdict rules", "the plotting style"],
)
def test_editing_code_reruns_what_it_drives_and_nothing_else(workdir, path, figures, others):
    source = workdir / path
    original = source.read_text()
    source.write_text(original + ("\n# an edit\n" if path.endswith(".py") else "font.size: 8\n"))
    try:
        jobs = planned(workdir)
        assert {f.removeprefix("figure=") for f in jobs.pop("figure", [])} == figures
        assert set(jobs) == others  # no training, no data, no diagnostics
    finally:
        source.write_text(original)
    assert planned(workdir) == {}  # code is tracked by content: an edit undone reruns nothing


def test_bad_config_stops_before_anything_runs_with_one_line(tmp_path, workdir):
    bad = variant(workdir, "bad", lambda c: c["experiments"]["fraction"].update(fractions=[1.5]))
    out = snakemake(workdir, "--cores", "1", "--configfile", bad)
    assert out.returncode != 0
    errors = [line for line in (out.stderr + out.stdout).splitlines() if line.startswith("Error")]
    assert errors == ["Error: config key experiments.fraction.fractions[0]: 1.5 is greater than or equal to the maximum of 1"]
    assert "Traceback" not in out.stderr


def test_a_missing_data_set_is_named_on_the_console_in_one_line_and_nothing_is_written(tmp_path):
    """The job's one-line error reaches the console through its log (``show-failed-logs`` in the
    workflow profile: with any executor, SLURM's too), with no traceback, and no data file is left."""
    work = copy_workflow(tmp_path / "work", "warmstart")
    absent = tmp_path / "no-cifar"

    def cifar(c):
        c["dataset"] = {"name": "cifar10", "root": str(absent), "download": False}
        c["experiments"]["augmentation"]["enabled"] = False  # its transforms are MNIST-1D's

    config = variant(work, "nocifar", cifar)  # the target comes before --configfile, which takes several
    out = snakemake(work, "--cores", "1", "results/data/cifar10/data.pt", "--configfile", config)
    assert out.returncode != 0
    console = out.stdout + out.stderr
    shown = console[console.index("Logfile results/logs/prepare_data/cifar10.log:") :].splitlines()[:4]
    error = f"Error: cifar10: not found in {absent} and download disabled (dataset.download: false); expected "
    assert any(line.startswith(error) for line in shown), shown
    assert "Traceback" not in console
    assert not (work / "results/data/cifar10").exists() or not list((work / "results/data/cifar10").iterdir())  # not even a temporary file


def test_a_study_with_no_run_to_diagnose_runs_through(workdir, tmp_path):
    """Diagnostics off, the arena and the chain diagnosing no seed: no diagnostics table, no
    diagnostics figure, and the rest of the study's tables and summary (on a copy of the finished
    study: its runs are trained, its tables are redone)."""
    copy = tmp_path / "study"
    shutil.copytree(workdir, copy, symlinks=True)

    trained_under = json.loads((copy / "results/runs/mnist1d/mlp/adam/fresh/seed~0/provenance.json").read_text())["protocol"]

    def off(c):
        c["diagnostics"]["enabled"] = False
        c["experiments"]["arena"]["diagnostics_seeds"] = 0
        c["experiments"]["chain"]["diagnostics_seeds"] = 0
        # another study (no hypothesis, other sections): its runs are accepted when the config says why
        c["protocol"]["compatible"] = {trained_under["hash"]: "the same runs with the diagnostics switched off"}

    config = variant(copy, "nodiag", off)
    jobs = planned(copy, config)
    assert "train" not in jobs and "diagnose" not in jobs and "diagnostics_table" not in jobs
    drawn = {w.removeprefix("figure=") for w in jobs["figure"]}
    assert "arena" in drawn and not drawn & {"arena_diagnostics", "chain_diagnostics", "hypothesis", "diagnostics_sharpness"}
    out = snakemake(copy, "--cores", "2", "--configfile", config)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "## The hypothesis" not in (copy / "results/summary.md").read_text() and planned(copy, config) == {}


def test_a_fashion_mnist_study_is_planned_from_its_data_set_on(workdir):
    """The data set's name passes every rule's wildcard: a study on Fashion-MNIST plans its data,
    subsets and runs (a dry run)."""

    def fashion(c):
        c["dataset"] = {"name": "fashion_mnist", "download": False}
        c["experiments"]["augmentation"]["enabled"] = False  # its transforms are MNIST-1D's

    jobs = planned(workdir, variant(workdir, "fashion", fashion))
    assert "dataset=fashion_mnist" in jobs["prepare_data"] and any(r.startswith("run=fashion_mnist/") for r in jobs["run"])
