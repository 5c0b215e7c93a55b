"""A run's record (``provenance.json``): its parameters, the protocol it was trained under, its
timing, the pipeline's code version, package versions, device and host."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import psutil
import torch

from warmstart.errors import DataError

ENVIRONMENT = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "CUDA_VISIBLE_DEVICES")  # recorded in provenance


def process_age() -> float:
    """Seconds since this process started. On Linux from ``/proc`` (10 ms resolution): psutil's
    ``create_time`` adds the boot time, which Linux gives in whole seconds, so it is off by up to 1 s."""
    try:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except OSError:
        return time.time() - psutil.Process().create_time()


def spec_hash(spec: object) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def git_commit(ignore: str | None = None) -> str:
    """Commit of the pipeline's source tree, with ``-dirty`` if it has uncommitted changes (outside
    the folder ``ignore``: ``docs/``, which the ``docs`` rule itself rewrites)."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", ".", *([f":!{ignore}"] if ignore else [])],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(spec: dict, device: str, seconds: dict[str, float], protocol: dict | None = None) -> dict:
    """A run's record: its parameters, the protocol it was trained under (``{version, hash}``),
    timing, code version, package versions, device and host."""
    return {
        "run": spec,
        "protocol": protocol,
        "seconds": seconds,
        "git_commit": git_commit(ignore="docs"),  # docs/ is what `snakemake docs` rewrites: not the code
        "versions": {p: version(p) for p in ("torch", "numpy", "mnist1d")} | {"python": platform.python_version()},
        "device": torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "host": platform.node(),
        "environment": {k: v for k, v in os.environ.items() if k in ENVIRONMENT},
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def published_code(commits: dict[str, int], mixed: bool = False) -> str:
    """The one commit that trained every run of a study to be published (``commits``: commit ->
    runs it trained, as ``provenance.json`` records them), so that its verdicts come from one clean
    code state. Raise ``DataError`` naming the commits when there is more than one or one is an
    uncommitted tree (``-dirty``) or none known (``unknown``: a copy without git), unless
    ``mixed``; then the most frequent is returned."""
    ranked = sorted(commits, key=lambda c: (-commits[c], c))
    if not mixed and (len(ranked) != 1 or ranked[0].endswith("-dirty") or ranked[0] == "unknown"):
        named = ", ".join(f"{c} ({commits[c]} runs)" for c in ranked)
        raise DataError(
            f"results/runs: trained by {named}; docs/measured.md is published from runs of one clean commit "
            "(rerun the study at one commit, or pass --config docs_mixed_code=True to publish them anyway)"
        )
    return ranked[0]
