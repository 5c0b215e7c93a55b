"""Shards of seeds: the runs that differ only in their seed, trained by one job (no torch here).

A run's id ends in ``/seed~N``; the rest is its *group*. A shard is a group and a set of its seeds,
named ``<group>/seeds~<ranges>`` (``.../fraction~0.5/seeds~0-15,32``), so the name alone says
which runs it trains. The job writes each run's outputs under ``results/shards/<shard>/seed~N/``
and a per-run step links them to ``results/runs/<run>/``: nothing downstream knows about shards.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

SEED = re.compile(r"^(?P<group>.+)/seed~(?P<seed>\d+)$")
SHARD = re.compile(r"^(?P<group>.+)/seeds~(?P<seeds>[0-9,\-]+)$")


def split(run_id: str) -> tuple[str, int]:
    """``(group, seed)`` of a run id."""
    m = SEED.match(run_id)
    if not m:
        raise ValueError(f"run id {run_id!r} does not end in /seed~N")
    return m["group"], int(m["seed"])


def ranges(seeds: list[int]) -> str:
    """``[0, 1, 2, 3, 7]`` as ``0-3,7``."""
    out, seeds = [], sorted(seeds)
    start = prev = seeds[0]
    for s in [*seeds[1:], None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        out.append(f"{start}-{prev}" if prev > start else f"{start}")
        if s is not None:
            start = prev = s
    return ",".join(out)


def members(shard: str) -> list[str]:
    """The run ids of a shard, from its name alone."""
    m = SHARD.match(shard)
    if not m:
        raise ValueError(f"shard {shard!r} is not <group>/seeds~<ranges>")
    seeds = []
    for part in m["seeds"].split(","):
        lo, _, hi = part.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return [f"{m['group']}/seed~{s}" for s in seeds]


def partition(run_ids: list[str], size: int | None, done: Callable[[str], bool] = lambda _: False) -> dict[str, list[str]]:
    """Shards of at most ``size`` seeds (``None``: one per group) covering ``run_ids``. Runs that
    are ``done`` are sharded apart from the rest, so that adding seeds to a study makes shards of
    the new seeds only, and the finished runs keep their outputs."""
    groups: dict[str, list[int]] = {}
    for run in run_ids:
        group, seed = split(run)
        groups.setdefault(group, []).append(seed)
    shards = {}
    for group, seeds in groups.items():
        for part in ([s for s in sorted(seeds) if not done(f"{group}/seed~{s}")], [s for s in sorted(seeds) if done(f"{group}/seed~{s}")]):
            step = size or len(part) or 1
            for i in range(0, len(part), step):
                name = f"{group}/seeds~{ranges(part[i : i + step])}"
                shards[name] = members(name)
    return shards


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


def link_outputs(staged: str | Path, outputs: list[str]) -> None:
    """Put a run's files from its shard's staging folder ``staged`` at ``outputs`` (same names):
    a hard link where the file system allows, else a copy, each with a fresh modification time."""
    for out in map(Path, outputs):
        src = Path(staged) / out.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        try:
            os.link(src, out)
        except OSError:
            shutil.copyfile(src, out)
        os.utime(out)


def staged(run_id: str, planned: str, root: str | Path = "results/shards") -> str:
    """The shard whose staging folder under ``root`` holds ``run_id``'s outputs: ``planned`` if
    its folder exists, else any existing shard of the run's group that staged the run, else
    ``planned``. A job that links a run's outputs may be evaluated in a fresh process after some
    runs finished, when the planned partition (which depends on finished runs) reads differently;
    the staging folder on disk does not."""
    if (Path(root) / planned).exists():
        return planned
    group, seed = split(run_id)
    for folder in sorted((Path(root) / group).glob("seeds~*")):
        if (folder / f"seed~{seed}" / "model.pt").exists():
            return f"{group}/{folder.name}"
    return planned
