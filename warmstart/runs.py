"""The run table: every training run of a study, derived from the config alone.

A *run* is one training phase, a JSON-able dict (``RunTable.run`` lists its fields): its data
set and model, its initialisation (``init_seed``; ``parent``, the run whose final state, or
state after ``parent_epoch`` epochs, it starts from; the interventions applied then or during
tuning: ``reset`` with its ``reset_mode``, ``shrink`` and ``perturb``, ``intervention``; see
``warmstart.interventions``), its data (``subset``, a named index file, or the full set;
``shift``, the smooth shift; ``corrupt_labels``, its labels corrupted), its optimiser and
length (``epochs``, a cap for a run with a ``stop`` rule: every tuning run has the protocol's),
and the seed of its data order
(``order_seed``). Runs are identified by a human-readable path
(``mnist1d/mlp/adam/warm/fraction~0.5/seed~3``, ``warmstart.names``); a run needed by several
experiments is listed once and trained once.

Pairing (Berariu et al. 2021; Ash & Adams 2020): for each seed, every run of one chain starts
from the same initialisation (``init_seed``) as the fresh run, and all tuning runs of a seed share
one ``order_seed`` and so see the same data order.

Each experiment adds *rows*: one per (condition, arm, seed) that the tables report, naming the
tuning run and the parameters that vary in that experiment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from warmstart import names
from warmstart.names import condition
from warmstart.protocol import read_rule
from warmstart.randomness import PRETRAIN, STAGE, TUNE

VARIANTS = ("norm", "activation")  # a model's variant keys (``warmstart.models.mlp``): in a run only where set

# Fields whose value here means "not used". A run stores only the fields that differ from these
# (``identity``), so adding a field with such a default leaves every existing run's identity valid.
FIELD_DEFAULTS = {
    "parent": None,
    "parent_epoch": None,
    "reset": [],
    "reset_mode": "restore",
    "shrink": None,
    "perturb": None,
    "intervention": None,  # {"name": ..., its settings}: warmstart.interventions
    "optimum": None,  # {"tol": g, "max_iter": n}: then full-batch L-BFGS to the optimum (warmstart.convex)
    "subset": None,
    "corrupt_labels": None,  # {"rate": r, "seed": s}: the run's training labels corrupted (warmstart.data.corrupt_labels)
    "shift": None,  # {"gamma": g, "subset": name, "epochs": N}: the smooth shift's data schedule
    "stop": None,  # {"train_acc": a, "consecutive": k[, "from": N]}: stop after k consecutive epochs past N at accuracy a (eval mode)
    "save_epochs": [],
    "weight_decay": 0.0,
    "augment": False,
    "precision": "fp32",
}


def identity(run: dict) -> dict:
    """What determines a run's result: its fields less those at their ``FIELD_DEFAULTS`` value.
    Settings that change only speed or placement (device, shard size, checkpoint interval,
    channels_last, compile) are not fields of a run at all."""
    return {k: v for k, v in run.items() if k not in FIELD_DEFAULTS or FIELD_DEFAULTS[k] != v}


def drift(planned: dict, trained: dict) -> dict[str, tuple]:
    """The fields in which a run as trained (its ``provenance.json``'s ``run``) differs from the run
    the study plans, compared by ``identity``: ``{field: (trained, planned)}``, empty when they agree.
    A setting resolved where the job ran (``train.precision: auto`` on a node of another CPU kind)
    would otherwise put runs of two precisions into one contrast unseen."""
    a, b = identity(json.loads(json.dumps(trained))), identity(json.loads(json.dumps(planned)))
    return {k: (a.get(k, FIELD_DEFAULTS.get(k)), b.get(k, FIELD_DEFAULTS.get(k))) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def from_identity(ident: dict) -> dict:
    """The run whose ``identity`` is ``ident``: the fields left out take their defaults."""
    return json.loads(json.dumps(FIELD_DEFAULTS | ident))


@dataclass(frozen=True)
class Setting:
    """What a group of runs shares: data set, model, training settings, and its id prefix."""

    dataset: str
    model: dict
    train: dict
    path: str = field(default="")


class RunTable:
    """Runs keyed by id, and the rows of the tables, built experiment by experiment."""

    def __init__(self, config: dict):
        self.config = config
        self.runs: dict[str, dict] = {}
        self.rows: list[dict] = []
        self.diagnose: list[dict] = []
        self.diagnosed_by: set[str] = set()  # the experiments that added runs to diagnose
        self.drawn: set[str] = set()  # runs whose curves a figure draws: evaluated at every epoch (``draw``)

    def diagnose_jobs(self) -> dict[str, dict]:
        """One diagnosis per run of ``diagnose`` (a run several experiments diagnose, as the arena's
        plain warm start and the fraction experiment's, is diagnosed once): its ``epochs`` and
        ``noise_epochs``, the union of every entry's, and its ``seen`` subset, which they must share."""
        jobs: dict[str, dict] = {}
        for d in self.diagnose:
            job = jobs.setdefault(d["run"], {"epochs": [], "noise_epochs": [], "seen": d["seen"]})
            if job["seen"] != d["seen"]:
                raise ValueError(f"run {d['run']} is diagnosed on two seen subsets: {job['seen']} and {d['seen']}")
            for k in ("epochs", "noise_epochs"):
                job[k] = sorted(set(job[k]) | set(d[k]))
        return jobs

    def draw(self, *runs: dict) -> None:
        """Mark ``runs`` as drawn epoch by epoch: their training data and test set are evaluated at
        every epoch (``warmstart.train``), where the others are evaluated only where they can be read.
        Not a field of the run nor a param of its job: the read-out is the same either way
        (``tests/test_shards.py``), so a figure that stops drawing a run retrains nothing; the tables
        refuse a drawn run trained without its curves."""
        self.drawn |= {r["id"] for r in runs}

    def read_rule(self) -> dict:
        """The protocol's stopping and read-out rule (``warmstart.protocol``), shared by every tuning run."""
        return read_rule(self.config)

    def seeds(self, settings: dict) -> list[int]:
        """An experiment's seeds (its own ``seeds``, else the study's): N means 0..N-1; all shifted
        by ``confirm.seed_offset`` (a confirmation study's disjoint seeds)."""
        s = settings.get("seeds", self.config["seeds"])
        offset = self.config.get("confirm", {}).get("seed_offset", 0)
        return [offset + i for i in (range(s) if isinstance(s, int) else s)]

    def setting(self, dataset: str | None = None, model: dict | None = None, **train: object) -> Setting:
        """The study's setting with overrides; every override that changes a value is a path segment."""
        c = self.config
        m = c["model"] | (model or {})
        t = c["train"] | train
        ds = dataset or c["dataset"]["name"]
        extra = [names.segment(k, v) for k, v in sorted((model or {}).items()) if k != "name" and v != c["model"].get(k)]
        extra += [names.segment(k, v) for k, v in sorted(train.items()) if k != "optimizer" and v != c["train"][k]]
        return Setting(ds, m, t, "/".join([ds, m["name"], t["optimizer"], *extra]))

    def run(self, s: Setting, path: str, seed: int, phase: int, **fields: object) -> dict:
        run = (
            {
                "id": names.run_id(f"{s.path}/{path}", seed),
                "dataset": s.dataset,
                "model": {k: s.model[k] for k in ("name", "width", "depth")} | {k: s.model[k] for k in VARIANTS if k in s.model},
                "init_seed": seed,
                "optimizer": s.train["optimizer"],
                "lr": s.train["lr"],
                "batch_size": s.train["batch_size"],
                "epochs": s.train["tune_epochs"],
                "order_seed": [seed, phase],
            }
            | FIELD_DEFAULTS
            | {k: s.train[k] for k in ("weight_decay", "augment", "precision")}
            | fields
        )
        if phase == TUNE and "stop" not in fields:  # every tuning run is stopped and read by the protocol's rule
            run["stop"] = self.read_rule()
        if phase in (PRETRAIN, TUNE):  # the fixed per-phase grid, whatever other experiments want
            grid = s.train["snapshot_epochs"]["pretrain" if phase == PRETRAIN else "tune"]
            run["save_epochs"] = sorted(e for e in grid if e < run["epochs"])
        run = json.loads(json.dumps(run, sort_keys=True))  # canonical: key order in the config never matters
        old = self.runs.setdefault(run["id"], run)
        if old != run:
            raise ValueError(f"run {run['id']} is defined twice with different settings")
        return old

    def pretrain(self, s: Setting, fraction: float, seed: int) -> dict:
        """Pretraining on the nested ``fraction`` subset."""
        subset = names.fraction_subset(fraction)
        return self.run(s, f"pretrain/{subset}", seed, PRETRAIN, subset=subset, epochs=s.train["pretrain_epochs"])

    def warm(self, s: Setting, parent: dict, seed: int, path: str = "", **fields: object) -> dict:
        """Tuning on the full set from ``parent``'s final state (or its ``parent_epoch`` snapshot)."""
        base = f"warm/{parent['subset']}"
        return self.run(s, base + (f"/{path}" if path else ""), seed, TUNE, parent=parent["id"], **fields)

    def fresh(self, s: Setting, seed: int, path: str = "", **fields: object) -> dict:
        """Tuning on the full set from the initialisation of ``seed``: the reference of every warm run
        (with ``path`` and ``fields``, one given what a warm arm has: a regulariser during tuning)."""
        return self.run(s, "fresh" + (f"/{path}" if path else ""), seed, TUNE, **fields)

    def stage(self, s: Setting, n: int, r: float, i: int, seed: int, parent: dict | None, epochs: int, until: float | None) -> dict:
        """Stage ``i`` of ``n`` pretraining stages with class-imbalance ratio ``r`` (Fig. 4), trained
        until its data reach the training accuracy ``until`` (or for ``epochs``)."""
        subset = names.stages_subset(n, r, i)
        stop = {"train_acc": until, "consecutive": 1} if until is not None else None
        fields = {"parent": parent["id"] if parent else None, "subset": subset, "epochs": epochs, "stop": stop}
        return self.run(s, f"{names.stages_group(n, r)}/stage~{i}", seed, STAGE + i, **fields)

    def row(self, experiment: str, arm: str, seed: int, run: dict, **params: object) -> None:
        """One row of the tables: the condition is named by ``params``."""
        base = {
            "experiment": experiment,
            "condition": condition(**params),
            "arm": arm,
            "seed": seed,
            "run": run["id"],
            "parent": run["parent"] or "",
        }
        self.rows.append(base | params)

    def pair(self, experiment: str, seed: int, warm: dict, fresh: dict, arm: str = "warm", **params: object) -> None:
        self.row(experiment, arm, seed, warm, **params)
        self.row(experiment, "fresh", seed, fresh, **params)
