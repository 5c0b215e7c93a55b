"""The workflow against a real single-node SLURM (tools/local-slurm.sh), and runs killed mid-way.

The SLURM tests (marked ``slurm``) need root, Debian's slurm packages and the executor plugin; they
skip, saying which is missing, where SLURM cannot be started, and start it in a fixture, never at
import. CI (.ci/run) installs it first."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from studies import copy_workflow
from test_runs import study

from warmstart import data, experiments, runs
from warmstart.atomic import load_checked
from warmstart.execute import execute
from warmstart.provenance import spec_hash

ROOT = Path(__file__).resolve().parent.parent
SLURM = ROOT / "tools/local-slurm.sh"


@pytest.fixture(scope="module")
def slurm():
    """A running local SLURM with Snakemake's executor plugin, started here when it is installed
    (root, tools/local-slurm.sh); the SLURM tests skip, saying why, without one."""
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.skip('no snakemake-executor-plugin-slurm (pip install -e ".[cluster]")')
    if shutil.which("sinfo") is None or os.geteuid() != 0:
        pytest.skip("no local SLURM (needs root and Debian's slurm packages: tools/local-slurm.sh install)")
    if subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        subprocess.run(["bash", str(SLURM), "start"], capture_output=True)
    if subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        pytest.skip("local SLURM would not start (tools/local-slurm.sh start)")


def cluster_config(workdir: Path, **train) -> str:
    """The tiny study cut to the fraction experiment (fewer jobs), with ``train`` overrides."""
    config = yaml.safe_load((workdir / "configs/tiny.yaml").read_text())
    config["experiments"] = {"fraction": config["experiments"]["fraction"] | {"fractions": [0.5]}}
    config["experiments"] |= {name: {"enabled": False} for name in experiments.EXPERIMENTS if name != "fraction"}
    config["diagnostics"]["enabled"] = False
    config["train"] |= train
    (workdir / "configs/cluster.yaml").write_text(yaml.safe_dump(config))
    return "configs/cluster.yaml"


def run_on_slurm(workdir: Path, config: str) -> subprocess.CompletedProcess:
    args = [
        "--profile",
        "slurm",
        "--configfile",
        config,
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--jobs",
        "8",
    ]
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.slurm
def test_the_study_runs_through_slurm_and_training_ran_as_slurm_jobs(slurm, tmp_path):
    workdir = copy_workflow(tmp_path, "slurm")
    out = run_on_slurm(workdir, cluster_config(workdir, seeds_per_job=1))  # a shard per seed: jobs ready together
    assert out.returncode == 0, out.stderr[-4000:]
    r = workdir / "results"
    assert (r / "figures/fraction.png").stat().st_size > 10_000 and (r / "summary.md").exists()
    provenance = [json.loads(p.read_text()) for p in (r / "runs").rglob("provenance.json")]
    assert len(provenance) == 2 + 2 * 2
    assert all(p["environment"].get("SLURM_JOB_ID") for p in provenance)  # each run was inside a SLURM job
    assert len({p["environment"]["SLURM_JOB_ID"] for p in provenance}) > 1
    assert any(p["environment"].get("SLURM_ARRAY_TASK_ID") for p in provenance)  # training went out as job arrays
    assert all(not p["environment"].get("CUDA_VISIBLE_DEVICES") for p in provenance)  # no GPU asked for


@pytest.mark.slow
@pytest.mark.slurm
def test_a_gpu_study_asks_slurm_for_one_gpu_per_training_job(slurm, tmp_path):
    # gpus: 1 with device cpu: the submission path of a GPU study, on the fake gres GPUs
    workdir = copy_workflow(tmp_path, "slurm")
    out = run_on_slurm(workdir, cluster_config(workdir, gpus=1))
    assert out.returncode == 0, out.stderr[-4000:]
    provenance = [json.loads(p.read_text()) for p in (workdir / "results/runs").rglob("provenance.json")]
    assert provenance and all(p["environment"].get("CUDA_VISIBLE_DEVICES") in ("0", "1") for p in provenance)


def _train_process(specs: list[dict], data_file: Path, outdir: Path, checkpoint_every: int) -> subprocess.Popen:
    """A training job of the shard ``specs`` in its own process, outputs under ``outdir/seed~N``."""
    code = (
        "import json, sys, torch; torch.set_num_threads(1)\n"
        "from warmstart.jobs import job\nfrom warmstart.execute import execute\n"
        f"with job({str(outdir / 'log.txt')!r}):\n"
        "    specs = json.loads(sys.argv[1])\n"
        f"    outdirs = [{str(outdir)!r} + f'/seed~{{s[\"init_seed\"]}}' for s in specs]\n"
        f"    execute(specs, {str(data_file)!r}, outdirs, resume_dir={str(outdir)!r}, checkpoint_every={checkpoint_every})\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(specs)])


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    start = time.time()
    while not path.exists():
        assert proc.poll() is None, "training finished before it could be killed"
        assert time.time() - start < timeout
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_shard_resumes_to_exactly_the_uninterrupted_result(tmp_path, sig):
    data_file = tmp_path / "data.pt"
    data.save(data.prepare("mnist1d", num_train=2000, num_test=200), data_file)
    table = runs.RunTable(study())
    table.config["train"] |= {"batch_size": 32, "tune_epochs": 40}
    table.config["model"] |= {"width": 64}
    table.config["protocol"] |= {"read": {"train_acc": 0.99, "consecutive": 3}}  # the tiny study's 20% would stop it at once
    specs = [table.fresh(table.setting(), seed=seed) for seed in (0, 1, 2)]
    torch.set_num_threads(1)
    execute(specs, str(data_file), [tmp_path / f"reference/seed~{s}" for s in (0, 1, 2)], resume_dir=tmp_path)

    out = tmp_path / "killed"
    out.mkdir()
    checkpoint = out / f"resume-{spec_hash([runs.identity(s) for s in specs])}.pt"
    proc = _train_process(specs, data_file, out, checkpoint_every=2)
    _wait_for(checkpoint, proc)
    time.sleep(0.3)  # somewhere in the middle of an epoch
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == (143 if sig == signal.SIGTERM else -9)
    assert not list(out.rglob("metrics.csv")) and not list(out.rglob("model.pt"))  # nothing half-written taken for a result
    state = load_checked(checkpoint)
    assert 0 < state["epoch"] < 40
    if sig == signal.SIGTERM:
        assert state["step"] > 0 or state["epoch"] % 2 == 0  # saved on the signal, mid-epoch

    assert _train_process(specs, data_file, out, checkpoint_every=2).wait(timeout=300) == 0
    for seed in (0, 1, 2):
        resumed = pd.read_csv(out / f"seed~{seed}/metrics.csv")
        pd.testing.assert_frame_equal(resumed, pd.read_csv(tmp_path / f"reference/seed~{seed}/metrics.csv"))  # bit-identical
        a = load_checked(out / f"seed~{seed}/model.pt")["model"]
        b = load_checked(tmp_path / f"reference/seed~{seed}/model.pt")["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list(out.glob("resume-*.pt"))
