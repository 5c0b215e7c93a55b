"""The house's structure: experiments own themselves and declare what they read, names have one
home, and the library's imports run one way (no loop)."""

import ast
import copy
import dataclasses
import re
import shutil
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
    names = set(experiments.REGISTRY)
    files = [p for p in (ROOT / "warmstart").rglob("*.py") if "experiments" not in p.parts]
    files += list((ROOT / "workflow/scripts").glob("*.py"))
    found = {(str(p.relative_to(ROOT)), s) for p in files for s in strings(p) if s in names}
    offenders = {f"{p}: {s!r}" for p, s in found - SHARED_WORDS}
    rules = [p for p in (ROOT / "workflow/rules").glob("*.smk")] + [ROOT / "Snakefile"]
    offenders |= {f"{p.relative_to(ROOT)}: {n!r}" for p in rules for n in names if re.search(rf"[\"']{n}[\"']", p.read_text())}
    assert not offenders


def test_no_code_outside_the_experiments_imports_one_by_name():
    names = set(experiments.REGISTRY)
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


NOT_EXPERIMENTS = {"__init__", "base", "overview"}  # the registry, what experiments share, the summary's opening figure


def test_the_registry_finds_every_experiment_module_by_itself():
    modules = {p.stem for p in (ROOT / "warmstart/experiments").glob("*.py")} - NOT_EXPERIMENTS
    assert set(experiments.REGISTRY) == modules
    orders = [e.order for e in experiments.REGISTRY.values()]
    assert len(set(orders)) == len(orders)  # each declares its own place, none shared


@pytest.mark.parametrize("name", sorted(experiments.REGISTRY))
def test_an_experiment_module_ends_with_its_one_record_and_nothing_probes_it(name):
    tree = ast.parse((ROOT / f"warmstart/experiments/{name}.py").read_text())
    last = tree.body[-1]
    assert isinstance(last, ast.Assign) and [t.id for t in last.targets] == ["EXPERIMENT"]
    assert isinstance(last.value, ast.Call) and last.value.func.id == "Experiment"
    records = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Experiment"]
    assert len(records) == 1
    # an experiment sees the config only through its cfg: never through the run table's
    assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ("config", "_config")]


def test_no_code_probes_an_experiment_for_optional_attributes():
    files = [*(ROOT / "warmstart").rglob("*.py"), *(ROOT / "workflow/scripts").glob("*.py"), *(ROOT / "tools").glob("*.py")]
    offenders = []
    for p in files:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("hasattr", "getattr") and node.args:
                target = ast.unparse(node.args[0])
                if "MODULES" in target or "REGISTRY" in target or "experiment" in target.lower():
                    offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders


def test_an_experiment_sees_its_own_section_and_what_it_declares_and_nothing_else():
    config = validate(base(), SCHEMA)
    chain = experiments.view(config, "chain")  # reads the arena's arms and the model
    assert chain["arena"]["arms"] == config["experiments"]["arena"]["arms"] and chain["chunks"] == config["experiments"]["chain"]["chunks"]
    assert chain["model"] == config["model"]
    fraction = experiments.view(config, "fraction")  # declares nothing
    for undeclared in ("arena", "train", "dataset", "protocol", "experiments"):
        with pytest.raises(KeyError, match=rf"^experiment fraction reads config section '{undeclared}', which it does not declare"):
            fraction[undeclared]
        with pytest.raises(KeyError, match="does not declare"):
            fraction.get(undeclared)
    assert fraction.get("seeds", 7) == config["experiments"]["fraction"].get("seeds", 7)  # its own optional keys stay optional
    shift = experiments.view(config, "smooth_shift")  # reads train.tune_epochs alone of its section
    assert shift["train"] == {"tune_epochs": config["train"]["tune_epochs"]}
    with pytest.raises(KeyError, match=r"^experiment smooth_shift reads config key 'train.device', which it does not declare"):
        shift["train"]["device"]
    fraction_seeds = config["experiments"]["fraction"].get("seeds", config["seeds"])
    assert experiments.view(config, "hypothesis")["fraction"]["seeds"] == fraction_seeds  # a section read comes with its seeds


def test_an_experiment_that_reads_an_undeclared_section_fails_its_build(monkeypatch):
    config = validate(base(), SCHEMA)
    chain = experiments.REGISTRY["chain"]
    monkeypatch.setitem(experiments.REGISTRY, "chain", dataclasses.replace(chain, reads=("model",)))  # the arena's arms undeclared
    with pytest.raises(KeyError, match="experiment chain reads config section 'arena', which it does not declare"):
        experiments.build(config)
    with pytest.raises(KeyError, match="experiment chain reads config section 'arena'"):
        experiments.check(config)


def test_no_experiment_reads_a_section_under_the_name_of_one_of_its_own_keys():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    for name, e in experiments.REGISTRY.items():
        own = (schema[e.section] if e.section else schema["experiments"]["properties"][name])["properties"]
        tops = {r.split(".")[0] for r in e.reads}
        assert not tops & set(own), name
        assert all(r in experiments.REGISTRY or r.split(".")[0] in experiments.TOP_SECTIONS and r.count(".") <= 1 for r in e.reads), name


def imports(path: Path) -> set[str]:
    """The ``warmstart`` modules a file imports anywhere in it (inside functions too), each with
    the packages whose ``__init__`` that import runs first."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for n in names:
            parts = n.split(".")
            out |= {".".join(parts[:i]) for i in range(2, len(parts) + 1) if parts[0] == "warmstart"}
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the library's modules it imports (``imports``). A package's ``__init__`` imports
    every module of it that it finds by itself (the experiment and intervention registries); a
    module's import of its own package is the one Python runs first, not an edge."""
    root = package.parent

    def name(path: Path) -> str:
        rel = path.relative_to(root).with_suffix("")
        return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)

    files = {name(p): p for p in package.rglob("*.py")}
    graph = {m: {i for i in imports(p) if i in files and i != m and not m.startswith(i + ".")} for m, p in files.items()}
    for m, p in files.items():
        if p.name == "__init__.py" and "pkgutil.iter_modules" in p.read_text():  # a registry: it imports its package's modules
            graph[m] |= {k for k in files if k.rsplit(".", 1)[0] == m}
    return graph


def import_loop(graph: dict[str, set[str]]) -> list[str] | None:
    """A loop of ``graph`` (its modules in order), or ``None`` when a topological order exists."""
    state: dict[str, str] = {}

    def visit(m: str, path: list[str]) -> list[str] | None:
        if state.get(m) == "done":
            return None
        if state.get(m) == "open":
            return [*path[path.index(m) :], m]
        state[m] = "open"
        for i in sorted(graph[m]):
            loop = visit(i, [*path, m])
            if loop:
                return loop
        state[m] = "done"
        return None

    return next((loop for m in sorted(graph) if (loop := visit(m, []))), None)


def test_the_library_imports_run_one_way():
    """No import loop in the library, counting imports inside functions, the package ``__init__``
    that importing a submodule runs first, and the registries that import their modules."""
    assert import_loop(import_graph(ROOT / "warmstart")) is None


def test_the_loop_check_finds_a_planted_back_import(tmp_path):
    """The check can fail: an experiment importing, inside a function, a module that imports the
    registry (the summary) closes a loop through the registry's discovery."""
    shutil.copytree(ROOT / "warmstart", tmp_path / "warmstart", ignore=shutil.ignore_patterns("__pycache__"))
    arena = tmp_path / "warmstart/experiments/arena.py"
    arena.write_text(arena.read_text() + "\n\ndef _later():\n    from warmstart.summary import summary  # noqa: F401\n")
    loop = import_loop(import_graph(tmp_path / "warmstart"))
    assert loop and {"warmstart.experiments.arena", "warmstart.summary", "warmstart.experiments"} <= set(loop)


def test_the_top_sections_guarded_are_the_schemas():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert set(experiments.TOP_SECTIONS) | {"seeds"} == set(schema)


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
