"""Execute a shard of runs of the run table: initialise each run (``warmstart.starts``), train them
together as one stacked model (``warmstart.train``), finish a convex one at its optimum, and write
each run's outputs atomically.

Outputs of a run: ``model.pt`` (final state and snapshots, checksummed), ``metrics.csv`` (``run,
epoch, split, loss, acc``) and ``provenance.json`` (``warmstart.provenance``). While a shard trains,
``resume-<hash>.pt`` holds its resume checkpoint; the hash is of the runs' identities, so a changed
shard never resumes from a stale checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from warmstart import data as datasets
from warmstart import interventions
from warmstart.atomic import atomic_write_text, save_checked
from warmstart.convex import optimum_rows
from warmstart.provenance import process_age, provenance, spec_hash
from warmstart.runs import identity
from warmstart.shards import same_up_to_seed
from warmstart.starts import fresh_model, initial_model
from warmstart.train import shuffled, smooth_shift, train


def execute(
    specs: list[dict],
    data: str,
    outdirs: list[str | Path],
    subsets: dict[str, str] | None = None,
    parents: list[str] | None = None,
    device: str = "cpu",
    checkpoint_every: int = 10,
    resume_dir: str | Path | None = None,
    channels_last: bool = False,
    compile: bool = False,
    shard: str = "",
    protocol: dict | None = None,
    curves: list[bool] | None = None,
) -> None:
    """Train the shard ``specs`` (runs that differ only in their seed) as one stacked model and
    write each run's outputs to its ``outdirs`` entry; ``subsets`` maps subset names to files,
    ``parents`` gives each run's parent model file. The resume checkpoint lives in ``resume_dir``
    (default, the first run's folder) under a hash of the runs, so a changed shard never resumes
    from a stale one. ``channels_last`` and ``compile`` change speed, not results; ``protocol``
    (``warmstart.experiments.stamp``) is recorded in each run's provenance; ``curves`` says per run
    whether it is evaluated at every epoch (a figure draws it; default: all) or only where it can be
    read (``warmstart.train``)."""
    same_up_to_seed(specs)
    spec, outdirs, subsets = specs[0], [Path(o) for o in outdirs], subsets or {}
    d = datasets.load(data, device)
    n = len(d["y_train"])
    load = lambda name: torch.load(subsets[name], weights_only=True).to(device)  # noqa: E731
    indices = load(spec["subset"]) if spec["subset"] else torch.arange(n, device=device)
    if spec["corrupt_labels"]:  # every seed of the shard sees the same corruption (as the same subset)
        noise, classes = spec["corrupt_labels"], d["meta"]["num_classes"]
        d["y_train"] = datasets.corrupt_labels(d["y_train"], indices, noise["rate"], noise["seed"], classes)
    shift = spec["shift"]
    if shift:  # the drift lasts shift["epochs"], then the full set
        schedule = smooth_shift(n, load(shift["subset"]), shift["gamma"], shift["epochs"], spec["batch_size"])
    else:
        schedule = shuffled(indices)
    fit = lambda: (d["x_train"][indices], d["y_train"][indices])  # noqa: E731  (the run's training data, built when asked)
    models = [initial_model(s, d["meta"], p, fit, device) for s, p in zip(specs, parents or [None] * len(specs), strict=True)]
    hooks = interventions.during(spec["intervention"], lambda: [fresh_model(s, d["meta"]).to(device) for s in specs])
    if channels_last and d["x_train"].dim() == 4:  # images: NHWC kernels on GPU
        models = [m.to(memory_format=torch.channels_last) for m in models]
        d |= {k: d[k].contiguous(memory_format=torch.channels_last) for k in ("x_train", "x_test")}
    resume = Path(resume_dir or outdirs[0]) / f"resume-{spec_hash([identity(s) for s in specs])}.pt"
    started, setup = time.perf_counter(), process_age()  # process start to first step
    results = train(
        models, d, schedule,
        optimizer=spec["optimizer"], lr=spec["lr"], weight_decay=spec["weight_decay"], epochs=spec["epochs"],
        batch_size=spec["batch_size"], order_seeds=[s["order_seed"] for s in specs], augment=spec["augment"],
        eval_indices=indices, checkpoint=resume, checkpoint_every=checkpoint_every,
        stop_train_acc=(spec["stop"] or {}).get("train_acc"), stop_consecutive=(spec["stop"] or {}).get("consecutive", 1),
        stop_from=(spec["stop"] or {}).get("from", 0),
        save_epochs=tuple(spec["save_epochs"]),
        bf16=spec["precision"] == "bf16", compile=compile, hooks=hooks, curves=curves if curves is not None else True,
    )  # fmt: skip
    if spec["optimum"]:  # a convex model, finished at its optimum (each seed alone: exact in a shard)
        x_fit, y_fit = fit()
        for (metrics, _), model in zip(results, models, strict=True):
            metrics += optimum_rows(model, d, x_fit, y_fit, spec["optimum"], max(r["epoch"] for r in metrics) + 1)
    seconds = {"start_to_first_step": setup, "train_shard": time.perf_counter() - started}
    seeds = [s["init_seed"] for s in specs]
    for s, model, (metrics, snapshots), outdir, drawn in zip(specs, models, results, outdirs, curves or [True] * len(specs), strict=True):
        save_checked({"model": model.state_dict(), "snapshots": snapshots, "spec": s}, outdir / "model.pt")
        rows = "".join(f"{s['id']},{r['epoch']},{r['split']},{r['loss']!r},{r['acc']!r}\n" for r in metrics)
        atomic_write_text("run,epoch,split,loss,acc\n" + rows, outdir / "metrics.csv")
        record = provenance(s, device, seconds, protocol) | {"shard": {"name": shard, "seeds": seeds}, "curves": drawn}
        atomic_write_text(json.dumps(record, indent=2), outdir / "provenance.json")
    resume.unlink(missing_ok=True)
