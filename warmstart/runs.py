"""The run table: every training run of a study, derived from the config alone.

A *run* is one training phase, a JSON-able dict: its data set and model, its initialisation
(``init_seed``, and ``parent``, the id of the run whose final model it starts from, if any), the
fraction of the training set it trains on (``subset``), its optimiser and length, and the seed
of its data order (``order_seed``). Runs are identified by a human-readable path
(``mnist1d/mlp/adam/warm/fraction~0.5/seed~3``); a run needed by several experiments is listed
once and trained once.

Pairing (Berariu et al. 2021; Ash & Adams 2020): for each seed, pretraining and the fresh run
start from the same initialisation (``init_seed``), and the warm and fresh tuning runs share
one ``order_seed`` and so see the same data order.

Each experiment also adds *rows*: one per (condition, arm, seed) that the tables report, naming
the tuning run and the parameters that vary in that experiment.
"""

from __future__ import annotations

import json
from collections.abc import Callable

PRETRAIN, TUNE = 0, 1  # second element of order_seed: the phase


def seeds(config: dict) -> list[int]:
    """``seeds: N`` means seeds 0..N-1; a list names them."""
    s = config["seeds"]
    return list(range(s)) if isinstance(s, int) else list(s)


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


class RunTable:
    """Runs keyed by id, and the rows of the tables, built experiment by experiment."""

    def __init__(self, config: dict):
        self.config = config
        self.runs: dict[str, dict] = {}
        self.rows: list[dict] = []

    def _base(self) -> str:
        c = self.config
        return f"{c['dataset']['name']}/{c['model']['name']}/{c['train']['optimizer']}"

    def _add(self, run: dict) -> dict:
        run = json.loads(json.dumps(run, sort_keys=True))  # canonical: key order in the config never matters
        if run["id"] in self.runs and self.runs[run["id"]] != run:
            raise ValueError(f"run {run['id']} is defined twice with different settings")
        return self.runs.setdefault(run["id"], run)

    def _run(self, path: str, seed: int, subset: float, epochs: int, phase: int, parent: dict | None) -> dict:
        c, t = self.config, self.config["train"]
        return self._add(
            {
                "id": f"{self._base()}/{path}/seed~{seed}",
                "dataset": c["dataset"]["name"],
                "model": dict(c["model"]),
                "init_seed": seed,
                "parent": parent["id"] if parent else None,
                "subset": subset,
                "optimizer": t["optimizer"],
                "lr": t["lr"],
                "weight_decay": t["weight_decay"],
                "batch_size": t["batch_size"],
                "epochs": epochs,
                "augment": t["augment"],
                "order_seed": [seed, phase],
            }
        )

    def pretrain(self, fraction: float, seed: int) -> dict:
        return self._run(f"pretrain/fraction~{_fmt(fraction)}", seed, fraction, self.config["train"]["pretrain_epochs"], PRETRAIN, None)

    def warm(self, parent: dict, fraction: float, seed: int) -> dict:
        return self._run(f"warm/fraction~{_fmt(fraction)}", seed, 1.0, self.config["train"]["tune_epochs"], TUNE, parent)

    def fresh(self, seed: int) -> dict:
        return self._run("fresh", seed, 1.0, self.config["train"]["tune_epochs"], TUNE, None)

    def row(self, experiment: str, condition: str, arm: str, seed: int, run: dict, **params: object) -> None:
        self.rows.append(
            {"experiment": experiment, "condition": condition, "arm": arm, "seed": seed, "run": run["id"], "parent": run["parent"] or ""}
            | params
        )


def fraction_experiment(table: RunTable, settings: dict) -> None:
    """The gap against the pretraining fraction (Berariu et al. Fig. 1 at 0.5; Ash & Adams)."""
    for seed in seeds(table.config):
        fresh = table.fresh(seed)
        for f in settings["fractions"]:
            warm = table.warm(table.pretrain(f, seed), f, seed)
            for arm, run in (("warm", warm), ("fresh", fresh)):
                table.row("fraction", f"fraction={_fmt(f)}", arm, seed, run, fraction=f)


EXPERIMENTS: dict[str, Callable[[RunTable, dict], None]] = {"fraction": fraction_experiment}


def build(config: dict) -> RunTable:
    """The run table of every enabled experiment of ``config``."""
    table = RunTable(config)
    for name, experiment in EXPERIMENTS.items():
        settings = config["experiments"].get(name, {})
        if settings.get("enabled", False):
            experiment(table, settings)
    return table


def subsets(table: RunTable) -> set[float]:
    """The training-set fractions that some run trains on (1.0, the full set, needs no file)."""
    return {r["subset"] for r in table.runs.values() if r["subset"] < 1}
