"""Execute one run of the run table: initialise, train, write its outputs atomically.

Outputs of a run: ``model.pt`` (final state, checksummed), ``metrics.csv`` (``run, epoch, split,
loss, acc``) and ``provenance.json`` (the run's parameters, package versions, git commit of the
pipeline, device, host). While it trains, ``resume-<hash>.pt`` in the same directory holds its
resume checkpoint; the hash is of the run's parameters, so a changed run never resumes from a
stale checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import torch

from warmstart import data as datasets
from warmstart.atomic import atomic_write_text, load_checked, save_checked
from warmstart.models import build_model
from warmstart.train import shuffled, train


def spec_hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def git_commit() -> str:
    """Commit of the pipeline's source tree, with ``-dirty`` if it has uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(spec: dict, device: str) -> dict:
    return {
        "run": spec,
        "git_commit": git_commit(),
        "versions": {p: version(p) for p in ("torch", "numpy", "mnist1d")} | {"python": platform.python_version()},
        "device": torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "host": platform.node(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def initial_model(spec: dict, meta: dict, parent: str | None) -> torch.nn.Module:
    """The model a run starts from: a fresh init from ``init_seed``, or its parent's final state."""
    m = spec["model"]
    model = build_model(m["name"], meta["input_shape"], meta["num_classes"], spec["init_seed"], width=m["width"], depth=m["depth"])
    if spec["parent"]:
        model.load_state_dict(load_checked(parent)["model"])
    return model


def execute(
    spec: dict,
    data: str,
    outdir: str | Path,
    subset: str | None = None,
    parent: str | None = None,
    device: str = "cpu",
    checkpoint_every: int = 10,
) -> None:
    """Run ``spec`` and write its outputs to ``outdir``."""
    outdir = Path(outdir)
    d = datasets.load(data, device)
    indices = torch.load(subset, weights_only=True) if subset else torch.arange(len(d["y_train"]))
    model = initial_model(spec, d["meta"], parent).to(device)
    resume = outdir / f"resume-{spec_hash(spec)}.pt"
    metrics = train(
        model, d, shuffled(indices.to(device)),
        optimizer=spec["optimizer"], lr=spec["lr"], weight_decay=spec["weight_decay"], epochs=spec["epochs"],
        batch_size=spec["batch_size"], order_seed=spec["order_seed"], augment=spec["augment"],
        eval_indices=indices.to(device), checkpoint=resume, checkpoint_every=checkpoint_every,
    )  # fmt: skip
    save_checked({"model": model.state_dict(), "spec": spec}, outdir / "model.pt")
    atomic_write_text(
        pd.DataFrame(metrics).assign(run=spec["id"])[["run", "epoch", "split", "loss", "acc"]].to_csv(index=False), outdir / "metrics.csv"
    )
    atomic_write_text(json.dumps(provenance(spec, device), indent=2), outdir / "provenance.json")
    resume.unlink(missing_ok=True)
