"""The workflow itself, through `python -m snakemake`, on the tiny config in a temporary copy."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from warmstart.tables import FINAL_COLUMNS, GAP_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True)


def variant(workdir: Path, name: str, edit) -> str:
    """A copy of the tiny config with ``edit`` applied, for dry runs."""
    config = yaml.safe_load((workdir / "configs/tiny.yaml").read_text())
    edit(config)
    (workdir / f"configs/{name}.yaml").write_text(yaml.safe_dump(config))
    return f"configs/{name}.yaml"


def planned(workdir: Path, config: str = "configs/tiny.yaml") -> dict[str, list[str]]:
    """Jobs a dry run would execute: rule -> list of wildcard strings."""
    out = snakemake(workdir, "-n", "--configfile", config)
    assert out.returncode == 0, out.stderr + out.stdout
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            w = re.search(r"wildcards: (.*)", block)
            jobs.setdefault(m.group(1), []).append(w.group(1) if w else "")
    jobs.pop("all", None)
    return jobs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("workflow")
    for item in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / item, d / item)
    for item in ("workflow", "configs", "envs"):
        shutil.copytree(ROOT / item, d / item)
    out = snakemake(d, "--cores", "2", "--configfile", "configs/tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    return d


def test_the_whole_study_runs_and_writes_the_contract_tables(workdir):
    r = workdir / "results"
    final = pd.read_csv(r / "tables/final.csv")
    assert list(final.columns[: len(FINAL_COLUMNS)]) == FINAL_COLUMNS and "fraction" in final.columns
    assert len(final) == 2 * 2 * 2  # fractions x seeds x arms
    assert final.final_test_acc.between(0, 1).all() and (final.epochs == 4).all()
    gap = pd.read_csv(r / "tables/gap.csv")
    assert list(gap.columns) == GAP_COLUMNS and sorted(gap.condition) == ["fraction=0.25", "fraction=0.5"]
    assert (gap.n == 2).all()
    metrics = pd.read_csv(r / "tables/metrics.csv")
    assert list(metrics.columns) == ["run", "epoch", "split", "loss", "acc"]
    assert metrics.run.nunique() == 2 + 2 * 2 * 2  # fresh per seed + (pretrain, warm) per fraction and seed
    summary = (r / "summary.md").read_text()
    assert "fraction=0.5" in summary and "**Verdict:" in summary
    for name in ("fraction", "fraction_curves"):
        assert (r / f"figures/{name}.png").stat().st_size > 10_000 and (r / f"figures/{name}.pdf").stat().st_size > 5_000
    prov = json.loads((r / "runs/mnist1d/mlp/adam/warm/fraction~0.5/seed~1/provenance.json").read_text())
    assert prov["run"]["parent"] == "mnist1d/mlp/adam/pretrain/fraction~0.5/seed~1" and prov["git_commit"] and prov["versions"]["torch"]
    assert not list(r.rglob("resume-*.pt")) and not list(r.rglob(".*.tmp*"))


def test_a_finished_study_has_nothing_left_to_do(workdir):
    assert planned(workdir) == {}


def test_editing_one_figure_script_reruns_that_figure_alone(workdir):
    script = workdir / "workflow/scripts/fig_fraction.py"
    original = script.read_text()
    script.write_text(original + "\n# a style change\n")
    try:
        assert planned(workdir) == {"fig_fraction": [""]}
    finally:
        script.write_text(original)


def test_adding_a_seed_trains_only_that_seeds_runs(workdir):
    jobs = planned(workdir, variant(workdir, "seeds3", lambda c: c.update(seeds=3)))
    assert sorted(jobs["train"]) == sorted(
        f"run=mnist1d/mlp/adam/{p}/seed~2"
        for p in ("fresh", "pretrain/fraction~0.25", "pretrain/fraction~0.5", "warm/fraction~0.25", "warm/fraction~0.5")
    )
    assert "prepare_data" not in jobs and "subset" not in jobs


def test_changing_tuning_epochs_reruns_tuning_and_what_depends_on_it_only(workdir):
    jobs = planned(workdir, variant(workdir, "tune5", lambda c: c["train"].update(tune_epochs=5)))
    trained = jobs.pop("train")
    assert len(trained) == 2 * 2 + 2 and not any("pretrain" in t for t in trained)
    assert set(jobs) == {"tables", "summary", "fig_fraction", "fig_fraction_curves"}


def test_bad_config_stops_before_anything_runs_with_one_line(tmp_path, workdir):
    bad = variant(workdir, "bad", lambda c: c["experiments"]["fraction"].update(fractions=[1.5]))
    out = snakemake(workdir, "--cores", "1", "--configfile", bad)
    assert out.returncode != 0
    errors = [line for line in (out.stderr + out.stdout).splitlines() if line.startswith("Error")]
    assert errors == ["Error: config key experiments.fraction.fractions[0]: 1.5 is greater than or equal to the maximum of 1"]
    assert "Traceback" not in out.stderr
