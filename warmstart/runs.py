"""The run table: every training run of a study, derived from the config alone.

A *run* is one training phase, a JSON-able dict (``RunTable.run`` lists its fields): its data
set and model, its initialisation (``init_seed``; ``parent``, the run whose final state, or
state after ``parent_epoch`` epochs, it starts from; ``reset`` with its ``reset_mode``, ``shrink``
and ``perturb``, the intervention applied then), its data (``subset``, a named index file, or the full set; ``shift``,
the smooth shift), its optimiser and length, and the seed of its data order (``order_seed``).
Runs are identified by a human-readable path (``mnist1d/mlp/adam/warm/fraction~0.5/seed~3``); a
run needed by several experiments is listed once and trained once.

Pairing (Berariu et al. 2021; Ash & Adams 2020): for each seed, every run of one chain starts
from the same initialisation (``init_seed``) as the fresh run, and all tuning runs of a seed share
one ``order_seed`` and so see the same data order.

Each experiment adds *rows*: one per (condition, arm, seed) that the tables report, naming the
tuning run and the parameters that vary in that experiment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from warmstart.units import unit_names

PRETRAIN, TUNE, STAGE = 0, 1, 10  # second element of order_seed: the phase; stage i uses STAGE + i


# Fields whose value here means "not used". A run stores only the fields that differ from these
# (``identity``), so adding a field with such a default leaves every existing run's identity valid.
FIELD_DEFAULTS = {
    "parent": None,
    "parent_epoch": None,
    "reset": [],
    "reset_mode": "restore",
    "shrink": None,
    "perturb": None,
    "subset": None,
    "shift": None,
    "until_train_acc": None,
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


def from_identity(ident: dict) -> dict:
    """The run whose ``identity`` is ``ident``: the fields left out take their defaults."""
    return json.loads(json.dumps(FIELD_DEFAULTS | ident))


def fmt(v: object) -> str:
    """A value as it appears in run ids and condition names."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def condition(**params: object) -> str:
    return ",".join(f"{k}={fmt(v)}" for k, v in params.items())


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

    def seeds(self, settings: dict) -> list[int]:
        """An experiment's seeds (its own ``seeds``, else the study's): N means 0..N-1."""
        s = settings.get("seeds", self.config["seeds"])
        return list(range(s)) if isinstance(s, int) else list(s)

    def setting(self, dataset: str | None = None, model: dict | None = None, **train: object) -> Setting:
        """The study's setting with overrides; every override that changes a value is a path segment."""
        c = self.config
        m = c["model"] | (model or {})
        t = c["train"] | train
        ds = dataset or c["dataset"]["name"]
        extra = [f"{k}~{fmt(v)}" for k, v in sorted((model or {}).items()) if k != "name" and v != c["model"].get(k)]
        extra += [f"{k}~{fmt(v)}" for k, v in sorted(train.items()) if k != "optimizer" and v != c["train"][k]]
        return Setting(ds, m, t, "/".join([ds, m["name"], t["optimizer"], *extra]))

    def run(self, s: Setting, path: str, seed: int, phase: int, **fields: object) -> dict:
        run = (
            {
                "id": f"{s.path}/{path}/seed~{seed}",
                "dataset": s.dataset,
                "model": {k: s.model[k] for k in ("name", "width", "depth")},
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
        subset = f"fraction~{fmt(fraction)}"
        return self.run(s, f"pretrain/{subset}", seed, PRETRAIN, subset=subset, epochs=s.train["pretrain_epochs"])

    def warm(self, s: Setting, parent: dict, seed: int, path: str = "", **fields: object) -> dict:
        """Tuning on the full set from ``parent``'s final state (or its ``parent_epoch`` snapshot)."""
        base = f"warm/{parent['subset']}"
        return self.run(s, base + (f"/{path}" if path else ""), seed, TUNE, parent=parent["id"], **fields)

    def fresh(self, s: Setting, seed: int, **fields: object) -> dict:
        """Tuning on the full set from the initialisation of ``seed``: the reference of every warm run."""
        return self.run(s, "fresh", seed, TUNE, **fields)

    def stage(self, s: Setting, n: int, r: float, i: int, seed: int, parent: dict | None, epochs: int, until: float | None) -> dict:
        """Stage ``i`` of ``n`` pretraining stages with class-imbalance ratio ``r`` (Fig. 4)."""
        subset = f"stages~{n}-r~{fmt(r)}-stage~{i}"
        fields = {"parent": parent["id"] if parent else None, "subset": subset, "epochs": epochs, "until_train_acc": until}
        return self.run(s, f"stages~{n}-r~{fmt(r)}/stage~{i}", seed, STAGE + i, **fields)

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


def fraction_experiment(t: RunTable, cfg: dict) -> None:
    """The gap against the pretraining fraction (Berariu et al. Fig. 1 at 0.5; Ash & Adams)."""
    s = t.setting()
    for seed in t.seeds(cfg):
        for f in cfg["fractions"]:
            t.pair("fraction", seed, t.warm(s, t.pretrain(s, f, seed), seed), t.fresh(s, seed), fraction=f)


def pretrain_length_experiment(t: RunTable, cfg: dict) -> None:
    """Warm starts from snapshots of one pretraining run per optimiser and seed (Fig. 2, 8-10)."""
    for entry in cfg["optimizers"]:
        optimizer = entry["name"]
        s = t.setting(optimizer=optimizer, lr=entry["lr"], pretrain_epochs=max(cfg["epochs"]))
        for seed in t.seeds(cfg):
            fresh = t.fresh(s, seed)
            for e in cfg["epochs"]:
                pre = t.pretrain(s, cfg["fraction"], seed)  # its snapshot of epoch e (on the grid, config.py checks)
                at = None if e == max(cfg["epochs"]) else e
                warm = t.warm(s, pre, seed, path=f"from~{e}" if at is not None else "", parent_epoch=at)
                t.pair("pretrain_length", seed, warm, fresh, optimizer=optimizer, pretrain_epochs=e)


def smooth_shift_experiment(t: RunTable, cfg: dict) -> None:
    """One run whose data drifts from the subset to the full set at rate ``gamma`` (Fig. 3)."""
    s = t.setting()
    subset = f"fraction~{fmt(cfg['fraction'])}"
    for seed in t.seeds(cfg):
        for gamma in cfg["gammas"]:
            run = t.run(s, f"shift/{subset}/gamma~{fmt(gamma)}", seed, TUNE, shift={"gamma": gamma, "subset": subset})
            t.pair("smooth_shift", seed, run, t.fresh(s, seed), arm="shift", gamma=gamma)


def stages_experiment(t: RunTable, cfg: dict) -> None:
    """``n`` pretraining stages of growing, class-unbalanced data, then the full set (Fig. 4)."""
    s = t.setting()
    for seed in t.seeds(cfg):
        for r in cfg["r"]:
            for n in cfg["stages"]:
                parent = None
                for i in range(1, n + 1):
                    parent = t.stage(s, n, r, i, seed, parent, cfg["stage_epochs"], cfg.get("until_train_acc"))
                final = t.run(s, f"stages~{n}-r~{fmt(r)}/final", seed, TUNE, parent=parent["id"])
                t.pair("stages", seed, final, t.fresh(s, seed), stages=n, r=r)


def width_depth_experiment(t: RunTable, cfg: dict) -> None:
    """The gap for every model width and depth of the grid (Fig. 5)."""
    for w in cfg["widths"]:
        for d in cfg["depths"]:
            s = t.setting(model={"width": w, "depth": d})
            for seed in t.seeds(cfg):
                warm = t.warm(s, t.pretrain(s, cfg["fraction"], seed), seed)
                t.pair("width_depth", seed, warm, t.fresh(s, seed), width=w, depth=d)


def reset_path(units: str, mode: str) -> str:
    """The id segment of a warm run with ``units`` reset (restored runs keep their first ids)."""
    return f"reset~{units}" + ("" if mode == "restore" else f"-{mode}")


def reset_experiment(t: RunTable, cfg: dict) -> None:
    """Re-initialise sets of units after pretraining (Fig. 6); every suffix of the units and all
    of them unless the config names the sets."""
    s = t.setting()
    units = unit_names(s.model["name"], s.model["depth"])
    sets = cfg.get("sets") or [units[i:] for i in range(len(units) - 1, -1, -1)]  # every suffix, all units last
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair("reset", seed, t.warm(s, pre, seed), t.fresh(s, seed), reset="none")
        for reset in sets:
            name = "+".join(reset)
            warm = t.warm(s, pre, seed, path=reset_path(name, cfg["mode"]), reset=list(reset), reset_mode=cfg["mode"])
            t.pair("reset", seed, warm, t.fresh(s, seed), reset=name)


def speed_experiment(t: RunTable, cfg: dict) -> None:
    """Keep the first k units, reset the others (appendix Fig. 11): tuning speed against fresh."""
    s = t.setting()
    units = unit_names(s.model["name"], s.model["depth"])
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair("speed", seed, t.warm(s, pre, seed), t.fresh(s, seed), keep_first=len(units))
        for k in cfg["keep_first"]:
            reset = units[k:]
            warm = t.warm(s, pre, seed, path=reset_path("+".join(reset), cfg["mode"]), reset=reset, reset_mode=cfg["mode"])
            t.pair("speed", seed, warm, t.fresh(s, seed), keep_first=k)


def tune_lr_experiment(t: RunTable, cfg: dict) -> None:
    """A larger learning rate for tuning, warm and fresh alike (Fig. 7)."""
    s = t.setting()
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        for mult in cfg["multipliers"]:
            lr = s.train["lr"] * mult
            path = f"lr~{fmt(lr)}" if mult != 1 else ""
            warm = t.warm(s, pre, seed, path=path, lr=lr)
            fresh = t.run(s, "fresh" + (f"/{path}" if path else ""), seed, TUNE, lr=lr)
            t.pair("tune_lr", seed, warm, fresh, lr_multiplier=mult)


def shrink_perturb_experiment(t: RunTable, cfg: dict) -> None:
    """Shrink & perturb at the warm start (Ash & Adams 2020): ``θ ← λθ + σθ'``."""
    s = t.setting()
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair("shrink_perturb", seed, t.warm(s, pre, seed), t.fresh(s, seed), shrink=1.0, perturb=0.0)
        for lam in cfg["shrink"]:
            for sigma in cfg["perturb"]:
                warm = t.warm(s, pre, seed, path=f"shrink~{fmt(lam)}-perturb~{fmt(sigma)}", shrink=lam, perturb=sigma)
                t.pair("shrink_perturb", seed, warm, t.fresh(s, seed), arm="shrink_perturb", shrink=lam, perturb=sigma)


def table1_experiment(t: RunTable, cfg: dict) -> None:
    """Ash & Adams Table 1: data sets x models x optimisers, each trained to a training accuracy."""
    for dataset in cfg["datasets"]:
        for model in cfg["models"]:
            for optimizer in cfg["optimizers"]:
                overrides = cfg.get("model_settings", {}).get(model, {})
                s = t.setting(dataset=dataset, model={"name": model} | overrides, optimizer=optimizer, lr=cfg["lr"][optimizer])
                for seed in t.seeds(cfg):
                    until = {"until_train_acc": cfg["until_train_acc"]}
                    subset = f"fraction~{fmt(cfg['fraction'])}"
                    pre = t.run(s, f"pretrain/{subset}/until", seed, PRETRAIN, subset=subset, epochs=s.train["pretrain_epochs"], **until)
                    warm = t.run(s, f"warm/{subset}/until", seed, TUNE, parent=pre["id"], **until)
                    fresh = t.run(s, "fresh/until", seed, TUNE, **until)
                    t.pair("table1", seed, warm, fresh, dataset=dataset, model=model, optimizer=optimizer)


EXPERIMENTS: dict[str, Callable[[RunTable, dict], None]] = {
    "fraction": fraction_experiment,
    "pretrain_length": pretrain_length_experiment,
    "smooth_shift": smooth_shift_experiment,
    "stages": stages_experiment,
    "width_depth": width_depth_experiment,
    "reset": reset_experiment,
    "speed": speed_experiment,
    "tune_lr": tune_lr_experiment,
    "shrink_perturb": shrink_perturb_experiment,
    "table1": table1_experiment,
}


def diagnostics_targets(t: RunTable, cfg: dict) -> None:
    """The runs whose saved states are diagnosed (``t.diagnose``): for each seed of the fraction
    experiment at its ``curves_fraction``, the pretraining run at its end, and the warm and fresh
    tuning runs at ``cfg["epochs"]`` (snapshots of the tuning grid, config.py checks) and at their end."""
    fr = t.config["experiments"]["fraction"]
    s, f = t.setting(), fr["curves_fraction"]
    tune = s.train["tune_epochs"]
    epochs = sorted({e for e in cfg["epochs"] if e < tune} | {0})
    noise = [e for e in cfg["noise_epochs"] if e in epochs or e == tune]
    for seed in t.seeds(fr):
        pre = t.pretrain(s, f, seed)
        warm, fresh = t.warm(s, pre, seed), t.fresh(s, seed)
        base = {"experiment": "fraction", "condition": condition(fraction=f), "seed": seed, "seen": pre["subset"]}
        t.diagnose.append(base | {"arm": "pretrain", "run": pre["id"], "epochs": [pre["epochs"]], "noise_epochs": [pre["epochs"]]})
        for arm, run in (("warm", warm), ("fresh", fresh)):
            t.diagnose.append(base | {"arm": arm, "run": run["id"], "epochs": [*epochs, tune], "noise_epochs": noise})


def build(config: dict) -> RunTable:
    """The run table of every enabled experiment of ``config``, and the runs to diagnose."""
    table = RunTable(config)
    for name, experiment in EXPERIMENTS.items():
        settings = config["experiments"].get(name, {})
        if settings.get("enabled", False):
            experiment(table, settings)
    diag = config.get("diagnostics", {})
    if diag.get("enabled") and config["experiments"].get("fraction", {}).get("enabled"):
        diagnostics_targets(table, diag)
    return table
