"""Validation of a study's config against its JSON schema, with one-line errors."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from warmstart import experiments
from warmstart.errors import ConfigError


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
    """Fill in the schema's defaults, in place; a section the config leaves out is filled in too
    when its keys have defaults (a new experiment's section: then its ``enabled`` default holds)."""
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = copy.deepcopy(sub["default"])
        elif key not in config and any("default" in p for p in sub.get("properties", {}).values()):
            config[key] = {}
        if isinstance(config.get(key), dict):
            _fill_defaults(config[key], sub)


def _complete(config: dict, schema: dict) -> None:
    """Every enabled experiment's section gives the keys its schema has no default for (its grids;
    ``seeds`` falls back to the study's): an experiment left out of a config is on when its schema
    says so, and then needs them."""
    for name in experiments.enabled(config):
        own = experiments.REGISTRY[name].section
        path = [own] if own else ["experiments", name]
        sub = schema
        for key in path:
            sub = sub["properties"][key]
        given = experiments.section(config, name)
        missing = [k for k, p in sub.get("properties", {}).items() if "default" not in p and k != "seeds" and k not in given]
        if missing:
            raise ConfigError(f"config key {'.'.join([*path, missing[0]])}: required while {name} is enabled (it has no default)")


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


def native_bf16_cpu(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 dot products natively: x86's AVX512_BF16 or AMX-BF16, as Linux
    lists them among the ``flags`` of ``/proc/cpuinfo`` (``cpuinfo``: its text, for tests). PyTorch's
    CPU products (oneDNN) run bf16 on them faster than fp32; elsewhere bf16 is emulated, at about 1/19
    of fp32's rate on the AVX2 development machine (docs/performance.md). Anything unreadable: no."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.partition(":")[2].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def auto_precision(device: str) -> str:
    """What ``train.precision: auto`` means on ``device``: bf16 autocast on a GPU and on a CPU with
    native bf16 (``native_bf16_cpu``, checked where the study is planned), fp32 elsewhere. The
    precision is part of every run's identity and provenance, so runs of two precisions are never
    one run, and every pair shares its arms' precision (``experiments.LINEAGE_FIELDS``)."""
    return "bf16" if device.startswith("cuda") or native_bf16_cpu() else "fp32"


def validate(config: dict, schema_path: str | Path) -> dict:
    """Check ``config`` against the schema, fill in defaults, and check what a schema cannot
    (cross-key rules). Raise ``ConfigError`` with one line on the first problem."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_message(jsonschema.exceptions.best_match(errors)))
    _fill_defaults(config, schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:  # a section filled in from its defaults alone that lacks a required key
        raise ConfigError(_message(jsonschema.exceptions.best_match(errors)))
    t, on_gpu = config["train"], config["train"]["device"].startswith("cuda")
    t["precision"] = auto_precision(t["device"]) if t["precision"] == "auto" else t["precision"]
    t["channels_last"] = on_gpu if t["channels_last"] is None else t["channels_last"]
    if config["train"]["augment"] and config["dataset"]["name"] == "mnist1d":
        raise ConfigError("config key train.augment: flip and crop apply to images only; set it to false for mnist1d")
    pr = config["protocol"]
    if pr["read"]["train_acc"] <= pr["start_fit_validation"]:
        raise ConfigError(
            f"config key protocol.read.train_acc: {pr['read']['train_acc']} must lie above protocol.start_fit_validation "
            f"({pr['start_fit_validation']}), the training accuracy a warm start already has at its start on the validation split"
        )
    _complete(config, schema)
    experiments.check(config)
    _sort_keys(config)
    return config
