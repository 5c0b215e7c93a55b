"""Execute a shard of runs of the run table (initialise, train together, write each run's outputs
atomically), and diagnose a finished run from its saved snapshots.

Outputs of a run: ``model.pt`` (final state and snapshots, checksummed), ``metrics.csv`` (``run,
epoch, split, loss, acc``) and ``provenance.json`` (the run's parameters, its shard, package
versions, git commit of the pipeline, device, host). While a shard trains, ``resume-<hash>.pt``
holds its resume checkpoint; the hash is of the runs' identities, so a changed shard never
resumes from a stale checkpoint.
"""

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

from warmstart import data as datasets
from warmstart import interventions
from warmstart.atomic import atomic_write_text, load_checked, save_checked
from warmstart.convex import to_optimum
from warmstart.diagnostics import flat_params, measure
from warmstart.interventions import reset_units, shrink_perturb
from warmstart.models import build_model
from warmstart.runs import identity
from warmstart.shards import same_up_to_seed
from warmstart.train import Stack, evaluate, seeded, shuffled, smooth_shift, train

ENVIRONMENT = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "CUDA_VISIBLE_DEVICES")  # recorded in provenance
PERTURB_STREAM = 1_000_000  # shrink & perturb's noise: the init of draw_seed(PERTURB_STREAM, run)
RESAMPLE_STREAM = 2_000_000  # a re-sampled reset's units: the init of draw_seed(RESAMPLE_STREAM, run)


def draw_seed(stream: int, spec: dict) -> int:
    """The model seed of a fresh draw made at a run's start (shrink & perturb's noise, a re-sampled
    reset): a function of the ``stream``, the run's ``init_seed`` and its ``order_seed``, so that
    every warm start draws its own noise (each round of a chain a new one: its ``order_seed`` names
    the round) and the same run always draws the same."""
    return int(seeded(stream, spec["init_seed"], *spec["order_seed"]).initial_seed() % 2**31)


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
        "git_commit": git_commit(),
        "versions": {p: version(p) for p in ("torch", "numpy", "mnist1d")} | {"python": platform.python_version()},
        "device": torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "host": platform.node(),
        "environment": {k: v for k, v in os.environ.items() if k in ENVIRONMENT},
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def fresh_model(spec: dict, meta: dict, seed: int | None = None) -> torch.nn.Module:
    """The run's model freshly initialised from ``seed`` (default, the run's ``init_seed``)."""
    m = spec["model"]
    seed = spec["init_seed"] if seed is None else seed
    return build_model(m["name"], meta["input_shape"], meta["num_classes"], seed, width=m["width"], depth=m["depth"])


def initial_model(spec: dict, meta: dict, parent: str | None) -> torch.nn.Module:
    """The model a run starts from: the fresh initialisation of ``init_seed``, or its parent's
    final state (or the state after ``parent_epoch`` epochs), then the run's intervention: reset
    units restored to the run's own initialisation (``reset_mode`` restore) or drawn afresh from
    the initialisation distribution (resample, Berariu et al.)."""
    model = fresh_model(spec, meta)
    if spec["parent"]:
        saved = load_checked(parent)
        model.load_state_dict(saved["model"] if spec["parent_epoch"] is None else saved["snapshots"][spec["parent_epoch"]])
    if spec["reset"]:
        seed = draw_seed(RESAMPLE_STREAM, spec) if spec["reset_mode"] == "resample" else None  # else: its own init
        reset_units(model, fresh_model(spec, meta, seed), spec["reset"])
    if spec["shrink"] is not None:
        shrink_perturb(model, fresh_model(spec, meta, draw_seed(PERTURB_STREAM, spec)), spec["shrink"], spec["perturb"])
    return model


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
) -> None:
    """Train the shard ``specs`` (runs that differ only in their seed) as one stacked model and
    write each run's outputs to its ``outdirs`` entry; ``subsets`` maps subset names to files,
    ``parents`` gives each run's parent model file. The resume checkpoint lives in ``resume_dir``
    (default, the first run's folder) under a hash of the runs, so a changed shard never resumes
    from a stale one. ``channels_last`` and ``compile`` change speed, not results; ``protocol``
    (``warmstart.protocol.stamp``) is recorded in each run's provenance."""
    same_up_to_seed(specs)
    spec, outdirs, subsets = specs[0], [Path(o) for o in outdirs], subsets or {}
    d = datasets.load(data, device)
    n = len(d["y_train"])
    load = lambda name: torch.load(subsets[name], weights_only=True).to(device)  # noqa: E731
    indices = load(spec["subset"]) if spec["subset"] else torch.arange(n, device=device)
    shift = spec["shift"]
    if shift:  # the drift lasts shift["epochs"], then the full set
        schedule = smooth_shift(n, load(shift["subset"]), shift["gamma"], shift["epochs"], spec["batch_size"])
    else:
        schedule = shuffled(indices)
    models = [initial_model(s, d["meta"], p).to(device) for s, p in zip(specs, parents or [None] * len(specs), strict=True)]
    for s, model in zip(specs, models, strict=True):  # DASH: a one-shot intervention that reads the run's data
        interventions.at_warm_start(s["intervention"], model, d["x_train"][indices], d["y_train"][indices])
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
        bf16=spec["precision"] == "bf16", compile=compile, hooks=hooks,
    )  # fmt: skip
    if spec["optimum"]:  # a convex model, finished at its optimum (each seed alone: exact in a shard)
        x_fit, y_fit = d["x_train"][indices], d["y_train"][indices]
        for (metrics, _), model in zip(results, models, strict=True):
            metrics += optimum_rows(model, d, x_fit, y_fit, spec["optimum"], max(r["epoch"] for r in metrics) + 1)
    seconds = {"start_to_first_step": setup, "train_shard": time.perf_counter() - started}
    seeds = [s["init_seed"] for s in specs]
    for s, model, (metrics, snapshots), outdir in zip(specs, models, results, outdirs, strict=True):
        save_checked({"model": model.state_dict(), "snapshots": snapshots, "spec": s}, outdir / "model.pt")
        rows = "".join(f"{s['id']},{r['epoch']},{r['split']},{r['loss']!r},{r['acc']!r}\n" for r in metrics)
        atomic_write_text("run,epoch,split,loss,acc\n" + rows, outdir / "metrics.csv")
        record = provenance(s, device, seconds, protocol) | {"shard": {"name": shard, "seeds": seeds}}
        atomic_write_text(json.dumps(record, indent=2), outdir / "provenance.json")
    resume.unlink(missing_ok=True)


def optimum_rows(model: torch.nn.Module, d: dict, x_fit: torch.Tensor, y_fit: torch.Tensor, optimum: dict, epoch: int) -> list[dict]:
    """Train ``model`` to its optimum (``warmstart.convex.to_optimum``) and return its metric rows
    as one more epoch: training data and test set in eval mode, and split ``optimum`` (loss: the
    final largest gradient entry; acc: 1 if it reached the tolerance, else 0)."""
    reached, g = to_optimum(model, x_fit, y_fit, optimum["tol"], optimum["max_iter"])
    stack = Stack([model])
    (fit_loss,), (fit_acc,) = evaluate(stack, x_fit, y_fit)
    (test_loss,), (test_acc,) = evaluate(stack, d["x_test"], d["y_test"])
    rows = [("train", fit_loss, fit_acc), ("train_eval", fit_loss, fit_acc), ("test", test_loss, test_acc), ("optimum", g, float(reached))]
    return [{"epoch": epoch, "split": s, "loss": loss, "acc": acc} for s, loss, acc in rows]


DIAGNOSTIC_STREAM = 71  # the diagnostic subsets' own random stream, apart from the nested subsets' permutation


def diagnostic_subsets(n: int, seen: torch.Tensor, size: int, seed: int) -> dict[str, torch.Tensor]:
    """``size`` training examples drawn at random from the pretraining subset ``seen`` (examples the
    warm start was pretrained on) and as many from the rest of the training set (``unseen`` by
    it), each from its own generator, independent of the permutation the nested subsets are cut
    from (drawing from that permutation gave the first examples of the 25% subset, all seen)."""
    mask = torch.zeros(n, dtype=torch.bool)
    mask[seen.cpu()] = True
    pools = {"seen": mask.nonzero().flatten(), "unseen": (~mask).nonzero().flatten()}
    return {
        half: pool[torch.randperm(len(pool), generator=seeded(seed, DIAGNOSTIC_STREAM, i))[:size]]
        for i, (half, pool) in enumerate(pools.items())
    }


def diagnose(
    spec: dict, data: str, model_file: str, seen: str, settings: dict, epochs: list[int], noise_epochs: list[int], device: str = "cpu"
) -> list[dict]:
    """Diagnostics (``warmstart.diagnostics.measure``) of run ``spec`` at each of ``epochs``, from
    its saved snapshots (its final state for its last epoch), on ``settings["subset"]`` random
    training examples of each half (``diagnostic_subsets``; ``seen`` is the pretraining subset's
    index file); rows ``{run, epoch, half, quantity, value}``; epochs after the run stopped are
    skipped. The run's start is its epoch-0
    snapshot (its initialisation if it has none)."""
    d = datasets.load(data, device)
    subsets = diagnostic_subsets(len(d["y_train"]), torch.load(seen, weights_only=True), settings["subset"], settings["subset_seed"])
    model = fresh_model(spec, d["meta"]).to(device)
    init = flat_params(model)
    saved = load_checked(model_file)
    # the end (labelled with the run's epoch cap) is its final state, also when its stopping rule
    # ended it earlier; grid epochs after such a stop have no snapshot and are skipped
    states = saved["snapshots"] | {spec["epochs"]: saved["model"]}
    epochs = [e for e in epochs if e in states]
    if 0 in states:
        model.load_state_dict(states[0])
    start = flat_params(model)
    rows = []
    for e in epochs:
        model.load_state_dict(states[e])
        for half, idx in subsets.items():
            x, y = d["x_train"][idx.to(device)], d["y_train"][idx.to(device)]
            for q, v in measure(model, x, y, init, start, settings, noise=e in noise_epochs).items():
                rows.append({"run": spec["id"], "epoch": e, "half": half, "quantity": q, "value": v})
    return rows
