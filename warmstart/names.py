"""Every name the study gives its files and rows, built and parsed here alone (no torch here).

* A **value** in a name (``value``): a float as its shortest form that reads back as the same
  float (``0.5``, ``1e-05``, ``0.333333``), so a name keeps its value exactly; other values as text.
* A **segment** ``key~value`` (``fraction~0.5``, ``gamma~0.1``); several joined by ``-``.
* A **subset** of the training set, a file under ``results/data/<dataset>/subsets/``:
  ``fraction~F`` (the nested fraction ``F``) or ``stages~N-r~R-stage~I`` (stage ``I`` of ``N``
  stages with class-imbalance ratio ``R``); ``subset`` parses one back.
* A **run id**: ``<group>/seed~N``, the group a path of segments (data set, model, optimiser,
  what differs from the study's settings, the run's place in its experiment).
* A **shard**: ``<group>/seeds~<ranges>`` (``.../fraction~0.5/seeds~0-15,32``): a group and a set
  of its seeds, so the name alone says which runs it trains.
* A **condition** of the tables: ``key=value,...`` of the parameters an experiment varies.
"""

from __future__ import annotations

import re

RUN = re.compile(r"^(?P<group>.+)/seed~(?P<seed>\d+)$")
SHARD = re.compile(r"^(?P<group>.+)/seeds~(?P<seeds>[0-9,\-]+)$")
SUBSETS = "fraction~F or stages~N-r~R-stage~I"


def value(v: object) -> str:
    """``v`` as it appears in names: a float in its ``g`` form when that reads back as the same
    float (every value of the shipped configs), else in full (``repr``); other values as ``str``."""
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    return str(v)


def segment(key: str, v: object) -> str:
    return f"{key}~{value(v)}"


def segments(**params: object) -> str:
    """``key~value`` segments joined by ``-``, in the order given."""
    return "-".join(segment(k, v) for k, v in params.items())


def condition(**params: object) -> str:
    """A table row's condition: ``key=value,...`` of the parameters an experiment varies."""
    return ",".join(f"{k}={value(v)}" for k, v in params.items())


def fraction_subset(fraction: float) -> str:
    return segment("fraction", fraction)


def stages_group(n: int, r: float) -> str:
    """The path segment of ``n`` stages with class-imbalance ratio ``r``."""
    return f"stages~{n}-{segment('r', r)}"


def stages_subset(n: int, r: float, i: int) -> str:
    return f"{stages_group(n, r)}-stage~{i}"


def subset(name: str) -> tuple[str, dict]:
    """A subset's kind and parameters: ``("fraction", {"fraction": F})`` or ``("stages", {"n": N,
    "r": R, "i": I})``; ``ValueError`` naming the expected forms for anything else."""
    try:
        if m := re.fullmatch(r"fraction~(?P<f>[^~/]+)", name):
            return "fraction", {"fraction": float(m["f"])}
        if m := re.fullmatch(r"stages~(?P<n>\d+)-r~(?P<r>[^~/]+)-stage~(?P<i>\d+)", name):
            return "stages", {"n": int(m["n"]), "r": float(m["r"]), "i": int(m["i"])}
    except ValueError:
        pass
    raise ValueError(f"unknown subset {name!r}; expected {SUBSETS}")


def run_id(group: str, seed: int) -> str:
    return f"{group}/seed~{seed}"


def split(run: str) -> tuple[str, int]:
    """``(group, seed)`` of a run id."""
    m = RUN.match(run)
    if not m:
        raise ValueError(f"run id {run!r} does not end in /seed~N")
    return m["group"], int(m["seed"])


def seed_dir(run: str) -> str:
    """The folder of a run inside its shard's output: ``seed~N``."""
    return f"seed~{split(run)[1]}"


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


def shard(group: str, seeds: list[int]) -> str:
    return f"{group}/seeds~{ranges(seeds)}"


def is_shard(name: str) -> bool:
    return bool(SHARD.match(name))


def members(name: str) -> list[str]:
    """The run ids of a shard, from its name alone."""
    m = SHARD.match(name)
    if not m:
        raise ValueError(f"shard {name!r} is not <group>/seeds~<ranges>")
    seeds = []
    for part in m["seeds"].split(","):
        lo, _, hi = part.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return [run_id(m["group"], s) for s in seeds]
