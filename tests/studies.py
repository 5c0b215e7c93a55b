"""Helpers of the end-to-end tests: a copy of the workflow, Snakemake run in it, its plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ("Snakefile", "config.yaml", "workflow", "configs", "envs", "profiles")


def copy_workflow(dest: Path, *extra: str) -> Path:
    """The workflow's files (and ``extra`` ones: ``warmstart``, ``tests``, ``slurm``) copied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in (*WORKFLOW, *extra):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / item)
    return dest


def snakemake(workdir: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Snakemake in ``workdir``, importing the copy of the library there (so a test may edit it)."""
    env = os.environ | {"PYTHONPATH": str(workdir)}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout)


def planned(workdir: Path, *configs: str) -> dict[str, list[str]]:
    """Jobs a dry run would execute under ``configs`` (the tiny config by default): rule -> list of
    wildcard strings."""
    out = snakemake(workdir, "-n", "--configfile", *(configs or ("configs/tiny.yaml",)))
    assert out.returncode == 0, out.stderr + out.stdout
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            w = re.search(r"wildcards: (.*)", block)
            jobs.setdefault(m.group(1), []).append(w.group(1) if w else "")
    jobs.pop("all", None)
    return jobs
