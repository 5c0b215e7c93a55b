"""The GPU check (tools/gpu-check.sh) rehearsed on the CPU at toy sizes: every part runs through to
its numbers, so that a GPU's minutes go to measuring, not to finding a broken path."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import gpu_check  # noqa: E402


@pytest.mark.slow
@pytest.mark.gpu_rehearsal
def test_the_gpu_check_rehearsed_on_the_cpu_measures_every_part(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    parts = list(gpu_check.PARTS)
    env = os.environ | {"GPU_CHECK_LIMIT": "1200"}  # every part in one rehearsal; on a GPU the precision check is a run of its own
    cmd = ["bash", "tools/gpu-check.sh", str(out), "--rehearse", "--work", str(work), "--parts", *parts]
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    r = json.loads((out / "gpu-check.json").read_text())
    assert r["machine"]["rehearsal"] is True
    assert [p for p in parts if "error" in r[p]] == []
    # in float64 a shard of ResNets (BatchNorm) equals its single runs (tests/test_shards.py); on a CPU it is deterministic
    shard = r["shard"]
    assert shard["within_tolerance"] and shard["twice_identical"] == {"fp32": True, "bf16": True}
    assert min(shard["best_test_acc"]) > 0.3  # the images are learnt: every seed well above chance (0.1)
    variants = r["throughput"]["variants"]
    assert len(variants) == len(gpu_check.THROUGHPUT) and all(v["images_per_s"] > 0 for v in variants)
    shared = r["throughput"]["processes_sharing_the_device"]
    assert shared["finished"] == shared["processes"] == 2 and shared["images_per_s"] > 0
    for study in ("smoke", "default"):
        s = r[study]
        assert s["rc"] == 0 and not s["timed_out"] and s["summary_written"] and s["jobs_finished"] == s["jobs_planned"] > 0
    # the rehearsal's default study is the fraction experiment in fp32: the precision check reuses it
    assert r["precision"]["studies"]["fp32"] == {"from": "the default part's study"}
    fp32, bf16 = (pd.read_csv(work / f"{d}/results/tables/final.csv") for d in ("default", "precision-bf16"))
    assert set(fp32.run) == set(bf16.run)  # the same runs, paired by seed
    prov = json.loads(next((work / "precision-bf16/results/runs").rglob("provenance.json")).read_text())
    assert prov["run"]["precision"] == "bf16"  # the run trained in the precision it names
    fractions = r["precision"]["fractions"]
    assert len(fractions) == 2 and all(f["seeds"] == 2 for f in fractions)
    # the paired difference is the difference of the two gaps, seed by seed
    assert all(f["difference"]["estimate"] == pytest.approx(f["gap_bf16"][0] - f["gap_fp32"][0]) for f in fractions)


def _left(work: Path) -> list[str]:
    """Processes whose command line names ``work`` (Snakemake's ``--directory``, its jobs' scripts)."""
    return subprocess.run(["pgrep", "-f", str(work)], capture_output=True, text=True).stdout.split()


@pytest.mark.slow
@pytest.mark.gpu_rehearsal
def test_a_study_past_its_budget_is_stopped_with_its_processes(tmp_path):
    work = tmp_path / "study"
    cfg = gpu_check.config_file(tmp_path / "c.yaml", gpu_check.only_fraction("fp32", gpu_check.sizes(True), True))
    out = gpu_check.study("cut", [ROOT / "configs/tiny.yaml", cfg], gpu_check.sizes(True), work, 12, tmp_path)
    assert out["timed_out"] and not out["summary_written"] and not out["stopped_by_limit"]
    assert out["jobs_planned"] is None or out["jobs_finished"] < out["jobs_planned"]
    assert _left(work) == []  # Snakemake and its jobs stopped


@pytest.mark.slow
@pytest.mark.gpu_rehearsal
def test_the_time_limit_stops_the_study_under_way_and_keeps_the_json(tmp_path):
    """SIGTERM (what ``timeout`` sends at the limit) during the default part: its study is stopped
    with its jobs, its record says so, and the JSON is written."""
    out, work = tmp_path / "out", tmp_path / "work"
    cmd = [sys.executable, "tools/gpu_check.py", str(out), "--rehearse", "--parts", "default", "--work", str(work), "--limit", "900"]
    p = subprocess.Popen(cmd, cwd=ROOT)
    log, t = out / "default.log", time.monotonic()
    while not (log.exists() and "Finished jobid" in log.read_text()) and time.monotonic() - t < 120:
        time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 0
    r = json.loads((out / "gpu-check.json").read_text())["default"]
    assert r["stopped_by_limit"] and not r["summary_written"] and r["jobs_finished"] >= 1
    assert _left(work) == []


def test_the_precision_check_pairs_seeds_and_tests_equivalence(tmp_path):
    """On made-up final tables: equal gaps are equivalent; gaps 3 points apart are not."""

    rng = np.random.default_rng(0)
    seed_gap = rng.normal(5, 2, 32)  # each seed's own gap (points), shared by both precisions

    def final(path, shift, noise, order):
        rows = [{"experiment": "fraction", "condition": "fraction=0.5", "arm": arm, "seed": s,
                 "final_test_acc": 0.8 - (seed_gap[s] + shift + e) / 100 * (arm == "warm")}
                for s, e in zip(range(32), rng.normal(0, noise, 32)) for arm in ("warm", "fresh")]  # fmt: skip
        pd.DataFrame(rows).sample(frac=1, random_state=order).to_csv(path, index=False)  # each file its own row order
        return path

    a = final(tmp_path / "a.csv", 0.0, 0.1, 1)
    same = gpu_check.precision_check(a, final(tmp_path / "b.csv", 0.0, 0.1, 2))
    apart = gpu_check.precision_check(a, final(tmp_path / "c.csv", 3.0, 0.1, 3))
    assert same["all_equivalent"] and not apart["all_equivalent"]
    assert apart["fractions"][0]["difference"]["estimate"] == pytest.approx(3.0, abs=0.1)
    # paired by seed, the seeds' own spread (sd 2 points) cancels: the interval is about the noise's width
    d = same["fractions"][0]["difference"]
    assert d["ci_high"] - d["ci_low"] < 0.2
