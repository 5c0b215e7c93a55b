"""The house's structure: experiments own themselves, names have one home."""

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml

from warmstart import experiments
from warmstart.config import validate
from warmstart.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def strings(path: Path) -> set[str]:
    """Every string literal of a Python file (docstrings and comments aside), or of a rule file's Python."""
    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}  # fmt: skip
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


# words an experiment shares with something else: a subset's kind (``warmstart.names``), a run
# field, an intervention of the same name (the reset and shrink & perturb experiments study one)
SHARED_WORDS = {
    ("warmstart/names.py", "fraction"),
    ("warmstart/names.py", "stages"),
    ("warmstart/data.py", "fraction"),
    ("warmstart/runs.py", "reset"),
    ("warmstart/interventions/__init__.py", "reset"),
    ("warmstart/interventions/reset.py", "reset"),
    ("warmstart/interventions/shrink_perturb.py", "shrink_perturb"),
}


def test_no_module_outside_the_experiments_names_an_experiment():
    names = set(experiments.MODULES)
    files = [p for p in (ROOT / "warmstart").rglob("*.py") if "experiments" not in p.parts]
    files += list((ROOT / "workflow/scripts").glob("*.py"))
    found = {(str(p.relative_to(ROOT)), s) for p in files for s in strings(p) if s in names}
    offenders = {f"{p}: {s!r}" for p, s in found - SHARED_WORDS}
    rules = [p for p in (ROOT / "workflow/rules").glob("*.smk")] + [ROOT / "Snakefile"]
    offenders |= {f"{p.relative_to(ROOT)}: {n!r}" for p in rules for n in names if re.search(rf"[\"']{n}[\"']", p.read_text())}
    assert not offenders


def test_no_code_outside_the_experiments_imports_one_by_name():
    names = set(experiments.MODULES)
    files = [p for p in (ROOT / "warmstart").rglob("*.py") if "experiments" not in p.parts]
    files += [*(ROOT / "workflow/scripts").glob("*.py"), *(ROOT / "tools").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = []
    for p in files:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "warmstart.experiments":
                offenders += [f"{p.relative_to(ROOT)}: {a.name}" for a in node.names if a.name in names]
            if isinstance(node, ast.ImportFrom | ast.Import):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                offenders += [f"{p.relative_to(ROOT)}: {m}" for m in modules if m.removeprefix("warmstart.experiments.") in names]
    assert not offenders


def test_the_registry_finds_every_experiment_module_by_itself():
    modules = {p.stem for p in (ROOT / "warmstart/experiments").glob("*.py")} - {"__init__", "base"}
    assert set(experiments.MODULES) == modules
    orders = [m.__dict__.get("ORDER") for m in experiments.MODULES.values()]
    assert None not in orders and len(set(orders)) == len(orders)  # each declares its own place, none shared


def base() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_an_experiment_left_out_of_the_config_follows_its_schema_default():
    config = base()
    del config["experiments"]["chain"]  # the schema: enabled by default, every other key defaulted
    assert "chain" in experiments.enabled(validate(config, SCHEMA))
    config = base()
    del config["experiments"]["fraction"]  # enabled by default, but its fractions have no default
    with pytest.raises(ConfigError, match=r"^config key experiments\.fraction\.fractions: required while fraction is enabled"):
        validate(config, SCHEMA)
    config = base()
    config["experiments"]["fraction"] = {"enabled": False}
    assert "fraction" not in experiments.enabled(validate(config, SCHEMA))
    assert "hypothesis" not in experiments.enabled(validate(copy.deepcopy(config), SCHEMA))  # it needs the fraction experiment
