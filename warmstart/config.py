"""Validation of a study's config against its JSON schema, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from warmstart.errors import ConfigError
from warmstart.experiments.arena import label as arena_label
from warmstart.units import unit_names


def _key(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"


def _message(e: jsonschema.ValidationError) -> str:
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        allowed = ", ".join(e.schema.get("properties", {}))
        return f"config key {_key([*e.absolute_path, extra[0]])}: unknown key; allowed here: {allowed}"
    if e.validator == "oneOf":
        return f"config key {_key(e.absolute_path)}: {e.instance!r} is not valid; expected: {e.schema.get('description', 'see the schema')}"
    return f"config key {_key(e.absolute_path)}: {e.message}"


def _fill_defaults(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = sub["default"]
        if isinstance(config.get(key), dict):
            _fill_defaults(config[key], sub)


def _sort_keys(config: dict) -> None:
    """Sort every mapping of ``config`` by key, in place: Snakemake compares ``params`` by their
    text, so a study file that lists the same keys in another order must not rerun anything."""
    items = sorted(config.items())
    config.clear()
    for k, v in items:
        if isinstance(v, dict):
            _sort_keys(v)
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, dict):
                    _sort_keys(item)
        config[k] = v


def validate(config: dict, schema_path: str | Path) -> dict:
    """Check ``config`` against the schema, fill in defaults, and check what a schema cannot
    (cross-key rules). Raise ``ConfigError`` with one line on the first problem."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_message(jsonschema.exceptions.best_match(errors)))
    _fill_defaults(config, schema)
    t, on_gpu = config["train"], config["train"]["device"].startswith("cuda")
    t["precision"] = ("bf16" if on_gpu else "fp32") if t["precision"] == "auto" else t["precision"]
    t["channels_last"] = on_gpu if t["channels_last"] is None else t["channels_last"]
    fr = config["experiments"].get("fraction", {})
    if fr.get("enabled") and fr["curves_fraction"] not in fr["fractions"]:
        raise ConfigError(
            f"config key experiments.fraction.curves_fraction: {fr['curves_fraction']} must be one of "
            f"experiments.fraction.fractions {fr['fractions']}"
        )
    if config["train"]["augment"] and config["dataset"]["name"] == "mnist1d":
        raise ConfigError("config key train.augment: flip and crop apply to images only; set it to false for mnist1d")
    grid = t["snapshot_epochs"]
    pl = config["experiments"].get("pretrain_length", {})
    off = [e for e in pl.get("epochs", []) if e != max(pl["epochs"]) and e not in grid["pretrain"]] if pl.get("enabled") else []
    if off:
        raise ConfigError(
            f"config key experiments.pretrain_length.epochs: {off[0]} is not on train.snapshot_epochs.pretrain {grid['pretrain']}; "
            "warm starts from shorter pretraining come from that grid's snapshots"
        )
    diag = config.get("diagnostics", {})
    off = [e for e in [0, *diag.get("epochs", [])] if e < t["tune_epochs"] and e not in grid["tune"]] if diag.get("enabled") else []
    if off:
        raise ConfigError(
            f"config key diagnostics.epochs: {off[0]} is not on train.snapshot_epochs.tune {grid['tune']} "
            "(the start, 0, is always diagnosed); diagnostics read that grid's snapshots"
        )

    def seeds(s: int | list[int]) -> set[int]:
        return set(range(s)) if isinstance(s, int) else set(s)

    if diag.get("enabled") and "seeds" in diag and fr.get("enabled"):
        extra = seeds(diag["seeds"]) - seeds(fr.get("seeds", config["seeds"]))
        if extra:
            raise ConfigError(f"config key diagnostics.seeds: seed {min(extra)} is not a seed of experiments.fraction")
    sp = config["experiments"].get("shrink_perturb", {})
    if sp.get("enabled") and (sp["primary"]["shrink"] not in sp["shrink"] or sp["primary"]["perturb"] not in sp["perturb"]):
        raise ConfigError(
            f"config key experiments.shrink_perturb.primary: {sp['primary']} must be a setting of the grid "
            f"(shrink {sp['shrink']}, perturb {sp['perturb']})"
        )
    ar = config["experiments"].get("arena", {})
    for i, arm in enumerate(ar.get("arms", []) if ar.get("enabled") else []):
        grid = ar["grids"].get(arm["name"], {})
        off = [k for k, values in grid.items() if arm.get(k) not in values]
        if off:
            raise ConfigError(
                f"config key experiments.arena.arms[{i}].{off[0]}: {arm.get(off[0])} must be one of experiments.arena.grids."
                f"{arm['name']}.{off[0]} {grid[off[0]]} (chosen on the validation split)"
            )
        if arm["name"] in ("redo", "cbp") and config["model"]["name"] not in ("mlp", "cnn"):
            raise ConfigError(
                f"config key experiments.arena.arms[{i}].name: {arm['name']} needs a model of Linear/Conv + ReLU units (mlp, cnn), "
                f"not {config['model']['name']}"
            )
        units = unit_names(config["model"]["name"], config["model"]["depth"])
        if arm["name"] == "reset" and arm["units"] not in [*units, "all"]:
            raise ConfigError(f"config key experiments.arena.arms[{i}].units: {arm['units']!r} must be all or one of {', '.join(units)}")
    ch = config["experiments"].get("chain", {})
    labels = [arena_label(a) for a in ar.get("arms", [])]
    unknown = [a for a in ch.get("arms", []) if a not in labels] if ch.get("enabled") else []
    if unknown:
        raise ConfigError(f"config key experiments.chain.arms: {unknown[0]!r} is not an arm of experiments.arena ({', '.join(labels)})")
    if pl.get("enabled") and pl["few_epochs"] not in pl["epochs"]:
        raise ConfigError(f"config key experiments.pretrain_length.few_epochs: {pl['few_epochs']} must be one of epochs {pl['epochs']}")
    pr = config["protocol"]
    if pr["read"]["train_acc"] <= pr["start_fit_validation"]:
        raise ConfigError(
            f"config key protocol.read.train_acc: {pr['read']['train_acc']} must lie above protocol.start_fit_validation "
            f"({pr['start_fit_validation']}), the training accuracy a warm start already has at its start on the validation split"
        )
    sh = config["experiments"].get("smooth_shift", {})
    if sh.get("enabled") and sh["shift_epochs"] + pr["read"]["consecutive"] > t["tune_epochs"]:
        raise ConfigError(
            f"config key experiments.smooth_shift.shift_epochs: {sh['shift_epochs']} plus protocol.read.consecutive "
            f"({pr['read']['consecutive']}) must not exceed train.tune_epochs ({t['tune_epochs']}): both arms are read after the drift"
        )
    _sort_keys(config)
    return config
