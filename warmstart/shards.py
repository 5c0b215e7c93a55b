"""Shards of seeds: the runs that differ only in their seed, trained by one job (no torch here).

A run's id ends in ``/seed~N``; the rest is its *group*. A shard is a group and a set of its seeds,
named by ``warmstart.names.shard``, so the name alone says which runs it trains. The job writes
each run's outputs under ``results/shards/<shard>/seed~N/`` and a per-run step links them to
``results/runs/<run>/``: nothing downstream knows about shards.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from warmstart.names import is_shard, members, shard, split


def partition(run_ids: list[str], size: int | None) -> dict[str, list[str]]:
    """Shards of at most ``size`` seeds (``None``: one per group) covering ``run_ids``, seeds in order."""
    groups: dict[str, list[int]] = {}
    for run in run_ids:
        group, seed = split(run)
        groups.setdefault(group, []).append(seed)
    shards = {}
    for group, seeds in groups.items():
        seeds, step = sorted(seeds), size or len(seeds)
        for i in range(0, len(seeds), step):
            name = shard(group, seeds[i : i + step])
            shards[name] = members(name)
    return shards


def recorded(run_dir: str | Path) -> str | None:
    """The shard that trained the finished run in ``run_dir``, from its ``provenance.json``
    (``None`` if the run has no complete outputs). A finished run keeps the shard it was trained
    in, so that a new shard size, or new seeds, never make Snakemake see new inputs for it."""
    run_dir = Path(run_dir)
    if not (run_dir / "model.pt").exists():
        return None
    try:
        name = json.loads((run_dir / "provenance.json").read_text())["shard"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if is_shard(name) else None


def staged(run_id: str, root: str | Path = "results/shards") -> str | None:
    """A shard folder under ``root`` (a shard job's output, present until every run of it has been
    linked into place) whose shard holds ``run_id``, if there is one."""
    group, _ = split(run_id)
    for folder in sorted((Path(root) / group).glob("seeds~*")):
        if run_id in members(f"{group}/{folder.name}"):
            return f"{group}/{folder.name}"
    return None


def plan(
    run_ids: list[str], size: int | None, runs_root: str | Path = "results/runs", shards_root: str | Path = "results/shards"
) -> dict[str, str]:
    """The shard of every run: the recorded one for a finished run, the staged one for a run whose
    shard has been (or is being) trained, else a new shard of ``size`` seeds of its group's other
    such runs. So adding seeds to a study shards the new seeds only, changing ``size`` leaves every
    finished run as it is, and a job evaluated after some runs of its shard finished (Snakemake
    runs ``run:`` jobs in a fresh process) still finds its shard."""
    shard_of = {run: recorded(Path(runs_root) / run) or staged(run, shards_root) for run in run_ids}
    todo = [run for run, shard in shard_of.items() if shard is None]
    return shard_of | {run: shard for shard, runs in partition(todo, size).items() for run in runs}


def same_up_to_seed(specs: list[dict]) -> None:
    """Raise ``ValueError`` unless the runs differ only in their seed (id, init seed, the seed of
    their data order and their parent's seed)."""

    def strip(spec: dict) -> dict:
        seed = split(spec["id"])[1]
        parent = spec.get("parent")
        return spec | {
            "id": split(spec["id"])[0],
            "init_seed": spec["init_seed"] - seed,
            "order_seed": [spec["order_seed"][0] - seed, *spec["order_seed"][1:]],
            "parent": split(parent)[0] if parent else parent,
        }

    first = strip(specs[0])
    for spec in specs[1:]:
        if strip(spec) != first:
            raise ValueError(f"runs {specs[0]['id']} and {spec['id']} differ in more than their seed: they cannot share a shard")


def model_cost(model: dict) -> float:
    """A model's training cost per example relative to the default MLP 100-100 (multiply-adds of
    its hidden layers, for MNIST-1D's 40 inputs; a rough weight for convolutional networks): a
    scheduling estimate, never a result."""
    width, depth = model.get("width", 100), model.get("depth", 2)
    if model["name"] == "logreg":
        return 0.03
    if model["name"] == "mlp":
        return (40 * width + (depth - 1) * width * width + 10 * width) / 15_000
    return {"cnn": 10.0, "resnet": 40.0}.get(model["name"], 10.0) * (width / 32) ** 2


def run_costs(runs: dict[str, dict], timing: str | Path | None = None) -> dict[str, float]:
    """Each run's expected training seconds: its measured seconds in a previous study's
    ``timing.csv`` when it is there; otherwise its epoch cap × ``model_cost``, in seconds at the
    median rate of the runs measured (1 per epoch of the default MLP when none is)."""
    known: dict[str, float] = {}
    if timing and Path(timing).exists():
        with open(timing) as f:
            known = {r["run"]: float(r["seconds"]) for r in csv.DictReader(f) if r["run"] in runs}
    units = {r: spec["epochs"] * model_cost(spec["model"]) for r, spec in runs.items()}
    rates = [known[r] / units[r] for r in known if units[r] > 0]
    rate = statistics.median(rates) if rates else 1.0
    return {r: known.get(r, units[r] * rate) for r in runs}


def critical_paths(shard_of: dict[str, str], runs: dict[str, dict], costs: dict[str, float]) -> dict[str, float]:
    """Per shard, the expected seconds of the longest chain of training jobs that starts with it:
    its own cost (the sum of its runs' ``costs``: its seeds train together) plus the longest path
    of the shards that train from its runs (their ``parent``). Run as job priorities, the shards
    that hold up the most work start first, so the last jobs of a study are short ones and no core
    waits on a long shard started late (a longest-path-first list schedule)."""
    own: dict[str, float] = {}
    children: dict[str, set[str]] = {}
    for run, job in shard_of.items():
        own[job] = own.get(job, 0.0) + costs[run]
        parent = runs[run]["parent"]
        if parent in shard_of:
            children.setdefault(shard_of[parent], set()).add(job)
    path: dict[str, float] = {}

    def longest(job: str) -> float:
        if job not in path:
            path[job] = own[job] + max((longest(c) for c in children.get(job, ())), default=0.0)
        return path[job]

    for job in sorted(own):
        longest(job)
    return path
