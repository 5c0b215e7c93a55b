"""The GPU check (tools/gpu-check.sh) rehearsed on the CPU at toy sizes: every part runs through to
its numbers, so that a GPU's minutes go to measuring, not to finding a broken path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import gpu_check  # noqa: E402


@pytest.mark.slow
def test_the_gpu_check_rehearsed_on_the_cpu_measures_every_part(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    parts = list(gpu_check.PARTS)
    env = os.environ | {"GPU_CHECK_LIMIT": "1200"}  # every part in one rehearsal; on a GPU the precision check is a run of its own
    cmd = ["bash", "tools/gpu-check.sh", str(out), "--rehearse", "--work", str(work), "--parts", *parts]
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)
    r = json.loads((out / "gpu-check.json").read_text())
    assert r["machine"]["rehearsal"] is True
    assert [p for p in parts if "error" in r[p]] == []
    # a shard of ResNets (BatchNorm) in fp32 rounds unlike its single runs (tests/test_shards.py); it is deterministic
    assert r["shard"]["within_tolerance"] and r["shard"]["shard_twice_identical"]
    variants = r["throughput"]["variants"]
    assert len(variants) == len(gpu_check.THROUGHPUT) and all(v["images_per_s"] > 0 for v in variants)
    shared = r["throughput"]["processes_sharing_the_device"]
    assert shared["finished"] == shared["processes"] == 2 and shared["images_per_s"] > 0
    for study in ("smoke", "default"):
        s = r[study]
        assert s["rc"] == 0 and not s["timed_out"] and s["summary_written"] and s["jobs_finished"] == s["jobs_planned"] > 0
    fp32, bf16 = (pd.read_csv(work / f"{d}/results/tables/final.csv") for d in ("default", "precision-bf16"))
    assert set(fp32.run) == set(bf16.run)  # the same runs, paired by seed
    prov = json.loads(next((work / "precision-bf16/results/runs").rglob("provenance.json")).read_text())
    assert prov["run"]["precision"] == "bf16"  # the run trained in the precision it names
    fractions = r["precision"]["fractions"]
    assert len(fractions) == 2 and all(f["seeds"] == 2 for f in fractions)
    # the paired difference is the difference of the two gaps, seed by seed
    assert all(f["difference"]["estimate"] == pytest.approx(f["gap_bf16"][0] - f["gap_fp32"][0]) for f in fractions)


def test_the_precision_check_pairs_seeds_and_tests_equivalence(tmp_path):
    """On made-up final tables: equal gaps are equivalent; gaps 3 points apart are not."""

    def final(path, shift):
        rows = [{"experiment": "fraction", "condition": "fraction=0.5", "arm": arm, "seed": s,
                 "final_test_acc": 0.8 - (0.05 + 0.01 * (s % 3) + shift) * (arm == "warm")}
                for s in range(16) for arm in ("warm", "fresh")]  # fmt: skip
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    a = final(tmp_path / "a.csv", 0.0)
    same = gpu_check.precision_check(a, final(tmp_path / "b.csv", 0.0))
    apart = gpu_check.precision_check(a, final(tmp_path / "c.csv", 0.03))
    assert same["all_equivalent"] and not apart["all_equivalent"]
    assert apart["fractions"][0]["difference"]["estimate"] == pytest.approx(3.0)
