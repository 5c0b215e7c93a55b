"""The registry of experiments, one module each ending with its ``Experiment`` record (``base``
says what it declares), and the study's run table built from them.

Adding an experiment: write its module here (it is found by itself: every module of this package
whose ``EXPERIMENT`` is an ``Experiment`` named as its file), add its section to the config schema
and to ``configs/tiny.yaml``, and the tiny run table's new digest to ``tests/test_protocol.py``.
Everything else (rules, figures, tables, summary) follows.

The registry hands an experiment's functions exactly its own config section, the study keys and
the sections it declares in ``reads`` (``settings``, ``Settings``), nothing else.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import inspect
import json
import pkgutil
import sys
import textwrap
from types import CodeType, ModuleType

import pandas as pd

from warmstart.experiments import overview
from warmstart.experiments.base import Experiment, Figure, Settings, study_keys
from warmstart.runs import RunTable
from warmstart.verdicts import CONTRAST_COLUMNS, judge

# the config's top-level sections: an experiment sees one only when it declares it in ``reads``
# (``seeds``, the study's default of every section's own ``seeds``, is read through ``RunTable.seeds``)
TOP_SECTIONS = ("dataset", "model", "train", "protocol", "diagnostics", "experiments", "confirm", "docs_mixed_code")


def discover() -> dict[str, Experiment]:
    """Every experiment of this package (a module whose ``EXPERIMENT`` is an ``Experiment``), by
    ``order``; what an experiment ``needs`` must come before it."""
    modules = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    found = []
    for m in modules:
        e = m.__dict__.get("EXPERIMENT")
        if isinstance(e, Experiment):
            if e.name != m.__name__.rsplit(".", 1)[1]:
                raise ValueError(f"experiments: {m.__name__} declares the experiment {e.name!r}; an experiment's module is named as it")
            found.append(e)
    found.sort(key=lambda e: (e.order, e.name))
    for i, e in enumerate(found):  # enabled() decides in this order: what an experiment needs must come before it
        later = [n for n in e.needs if n not in [f.name for f in found[:i]]]
        if later:
            raise ValueError(f"experiments: {e.name} needs {later[0]}, which must come before it (a lower order)")
    return {e.name: e for e in found}


REGISTRY: dict[str, Experiment] = discover()
EXPERIMENTS = [name for name, e in REGISTRY.items() if e.pairs]  # those that add pairs of their own


def section(config: dict, name: str) -> dict:
    """Experiment ``name``'s own config section: ``experiments.<name>``, or its declared ``section``."""
    e = REGISTRY[name]
    return config[e.section] if e.section else config["experiments"].get(name, {})


def enabled(config: dict) -> list[str]:
    """The experiments the config runs: those whose section is enabled (the schema's default
    where the config is silent; ``config.validate`` fills it in) and whose ``needs`` are."""
    on: list[str] = []
    for name, e in REGISTRY.items():
        if section(config, name).get("enabled", False) and all(n in on for n in e.needs):
            on.append(name)
    return on


def settings(config: dict, name: str) -> dict:
    """What experiment ``name``'s runs, verdicts and figures read, as a plain dict (a rule's
    ``params``): its config section, the study-level keys of ``base.study_keys``, and what it
    ``reads``: another experiment's section under that experiment's name (with its ``seeds``, the
    study's where it sets none), a top-level section under its name, a key of one (``train.tune_epochs``)
    under its section's name; copies, so that nothing an experiment does changes the config."""
    out = copy.deepcopy(dict(section(config, name))) | study_keys(config)
    for r in REGISTRY[name].reads:
        if r in REGISTRY:
            out[r] = copy.deepcopy({"seeds": config["seeds"]} | section(config, r))
            continue
        top, _, key = r.partition(".")
        value = copy.deepcopy(config[top][key] if key else config[top])
        out[top] = out.get(top, {}) | {key: value} if key else value
    return out


def guard(name: str, cfg: dict) -> Settings:
    """``cfg`` (experiment ``name``'s ``settings``) as that experiment sees it: a read of any
    other section of the config, or of another experiment's, fails with a line naming it."""
    e = REGISTRY[name]
    hidden = (set(TOP_SECTIONS) | set(REGISTRY)) - {name, e.section, *(r.split(".")[0] for r in e.reads)}
    partial = {r.split(".")[0] for r in e.reads if "." in r}  # sections of which it reads single keys: the others refused
    return Settings({k: Settings(v, name, None, f"{k}.") if k in partial else v for k, v in cfg.items()}, name, hidden - set(cfg))


def view(config: dict, name: str) -> Settings:
    """Experiment ``name``'s ``settings`` under ``config``, guarded."""
    return guard(name, settings(config, name))


def check(config: dict) -> None:
    """Each enabled experiment's checks of its settings against the sections it reads (its
    ``check(cfg)``, raising ``ConfigError``), which a schema cannot express."""
    for name in enabled(config):
        if REGISTRY[name].check:
            REGISTRY[name].check(view(config, name))


def own_tables(config: dict) -> dict[str, str]:
    """Every extra table of the enabled experiments (an experiment's ``tables``: file name -> function
    of ``gap.csv``): table file name -> its experiment."""
    return {file: name for name in enabled(config) for file in REGISTRY[name].tables}


def table_writer(name: str, file: str):
    """The function that writes experiment ``name``'s extra table ``file`` from ``gap.csv``."""
    return REGISTRY[name].tables[file]


def title(name: str) -> str:
    """The title of experiment ``name``, or of the ``overview`` that opens the summary."""
    return overview.TITLE if name == "overview" else REGISTRY[name].title


def figures(config: dict, table: RunTable | None = None) -> dict[str, tuple[str, Figure]]:
    """Every figure of the enabled experiments (one drawn from the diagnostics table only where its
    experiment diagnoses a run of ``table``, the study's run table), and the overview of their
    primary contrasts that opens the summary: figure name -> (owner, ``Figure``)."""
    diagnosed = (table or build(config)).diagnosed_by
    out = {
        fig: (name, f)
        for name in enabled(config)
        for fig, f in REGISTRY[name].figures.items()
        if "diagnostics" not in f.tables or name in diagnosed
    }
    return out | {fig: ("overview", f) for fig, f in overview.FIGURES.items()}


def draw(owner: str, figure: str, tables: dict[str, pd.DataFrame], cfg: dict):
    """Figure ``figure`` of ``owner`` (an experiment, or ``overview``) drawn from ``tables`` under
    ``cfg`` (the owner's ``settings``)."""
    if owner == "overview":
        return overview.FIGURES[figure].draw(tables, cfg)
    return REGISTRY[owner].figures[figure].draw(tables, guard(owner, cfg))


def module(owner: str) -> ModuleType:
    """The module that declares experiment ``owner`` (or the ``overview``): its code, whose
    content a rule's ``params`` carry so that editing it reruns what it drives."""
    return overview if owner == "overview" else importlib.import_module(f"{__name__}.{owner}")


def build(config: dict) -> RunTable:
    """The run table of every enabled experiment of ``config``, and the runs to diagnose."""
    table = RunTable(config)
    for name in enabled(config):
        before = len(table.diagnose)
        REGISTRY[name].runs(table, view(config, name))
        if len(table.diagnose) > before:
            table.diagnosed_by.add(name)
    return table


PAIR_FIELDS = {"id", "parent"}  # every pair's arms differ in these: the warm arm starts from its parent
# what a warm arm's ancestors (its pretraining) share with the fresh arm: the same network, started alike
LINEAGE_FIELDS = ("dataset", "model", "init_seed", "batch_size", "weight_decay", "augment", "precision")


def pair_differences(table: RunTable) -> list[str]:
    """Every way in which the arms of a pair of ``table`` (each row's run against the fresh run of
    its condition and seed) differ beyond their experiment's declared ``factor``, one line each
    naming the pair and the field; every warm arm whose lineage (parent, its parent, ...) differs
    from the fresh arm in a ``LINEAGE_FIELDS``; and, in an experiment whose arms are compared with
    each other from one warm start (``one_parent``: the arena against plain warm, ...), a seed whose
    warm arms do not share their parent. Empty when every pair differs only in its factor."""
    rows = pd.DataFrame(table.rows)
    out = []
    for (exp, cond, seed), g in rows.groupby(["experiment", "condition", "seed"], sort=False):
        fresh = table.runs[g.run[g.arm == "fresh"].iloc[0]]
        for run_id in g.run[g.arm != "fresh"]:
            arm = table.runs[run_id]
            allowed = PAIR_FIELDS | REGISTRY[exp].factor
            out += [f"{exp} [{cond}] seed {seed}: {run_id} and {fresh['id']} differ in {k!r} ({arm.get(k)!r} vs {fresh.get(k)!r})"
                    for k in sorted(set(arm) | set(fresh)) if k not in allowed and arm.get(k) != fresh.get(k)]  # fmt: skip
            parent = arm["parent"]
            while parent:
                p = table.runs[parent]
                off = [k for k in LINEAGE_FIELDS if p[k] != fresh[k]]
                if off:
                    out.append(f"{exp} [{cond}] seed {seed}: {run_id}'s ancestor {parent} does not start as {fresh['id']} ({off[0]})")
                parent = p["parent"]
    for (exp, seed), g in rows[rows.arm != "fresh"].groupby(["experiment", "seed"], sort=False):
        by_network: dict[str, set] = {}  # an architectural arm (the arena's LayerNorm) is a network of its own
        for r in g.run:
            by_network.setdefault(json.dumps(table.runs[r]["model"], sort_keys=True), set()).add(table.runs[r]["parent"])
        for parents in by_network.values():
            if REGISTRY[exp].one_parent and len(parents) > 1:
                out.append(f"{exp} seed {seed}: its warm arms start from {len(parents)} parents, not one: {sorted(map(str, parents))}")
    return out


def contrasts(name: str, tables: dict[str, pd.DataFrame], cfg: dict) -> list:
    """Experiment ``name``'s primary contrasts from ``tables`` under ``cfg`` (its ``settings``)."""
    return REGISTRY[name].contrasts(tables, guard(name, cfg))


def judge_all(tables: dict, experiments: dict[str, dict], protocol: dict) -> pd.DataFrame:
    """``contrasts.csv``: every primary contrast of the experiments in ``experiments`` (name ->
    ``settings``), judged with one Holm family per experiment (``verdicts.judge``), under the
    ``protocol`` section's alpha, margins and check tolerance."""
    margins = {"accuracy": protocol["margin_accuracy"], "epochs": protocol["margin_epochs"]}
    frames = [
        judge(name, contrasts(name, tables, cfg), margins, protocol["alpha"], protocol["check_tolerance"])
        for name, cfg in experiments.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTRAST_COLUMNS)


def claims(name: str, cfg: dict) -> dict[str, str]:
    """Experiment ``name``'s claims (key -> text) under ``cfg`` (its ``settings``)."""
    return REGISTRY[name].claims_for(guard(name, cfg))


def notes_all(tables: dict, experiments: dict[str, dict]) -> dict[str, list[str]]:
    """Each experiment's secondary notes for the summary (its ``notes``, if any)."""
    return {name: REGISTRY[name].notes_for(tables, guard(name, cfg)) for name, cfg in experiments.items()}


def claims_all(experiments: dict[str, dict]) -> dict[str, dict[str, str]]:
    """Every experiment's claims (``claims``), for the summary."""
    return {name: claims(name, cfg) for name, cfg in experiments.items()}


PLACEMENT = ("runs_per_job",)  # section keys that only group work into jobs: not the protocol
RULES = ("warmstart.verdicts", "warmstart.stats", "warmstart.tables", "warmstart.experiments.base")  # the code that reads and judges


def _tree(node: object) -> object:
    """A syntax tree as plain data, the same on every Python version this project supports:
    node names and their fields, less docstrings, empty fields and the fields newer versions add
    (``ast.dump``'s text changes between 3.11, 3.12 and 3.13)."""
    if isinstance(node, list):
        return [_tree(x) for x in node]
    if not isinstance(node, ast.AST):
        return repr(node)
    fields = {}
    for name, value in ast.iter_fields(node):
        if name == "body" and isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = value[0] if value else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                value = value[1:]  # a docstring documents, it does not decide
        if name in ("type_params", "type_comment", "kind") or value is None or value == []:
            continue
        fields[name] = _tree(value)
    return [type(node).__name__, fields]


def syntax(source: str) -> str:
    """The SHA-256 of ``source``'s syntax tree (``_tree``): comments, docstrings and layout do not
    count, code does."""
    return hashlib.sha256(json.dumps(_tree(ast.parse(textwrap.dedent(source)))).encode()).hexdigest()


def deciding_code(config: dict, name: str) -> dict:
    """What decides experiment ``name``'s verdicts under ``config``, as digests of syntax: its
    ``contrasts``, ``check`` and ``claims`` functions and every function of its own module they call
    (transitively), with its claims and its verdict words. A figure's code is not in it."""
    e = REGISTRY[name]
    module = sys.modules[e.contrasts.__module__]
    found: dict[str, str] = {}
    todo = [f for f in (e.contrasts, e.check, e.claims) if callable(f)]
    while todo:
        f = todo.pop()
        if getattr(f, "__module__", None) != module.__name__ or not hasattr(f, "__code__") or f.__qualname__ in found:
            continue
        found[f.__qualname__] = syntax(inspect.getsource(f))
        codes, called = [f.__code__], set()
        while codes:  # names used by the function and by the functions nested in it
            c = codes.pop()
            called |= set(c.co_names)
            codes += [k for k in c.co_consts if isinstance(k, CodeType)]
        todo += [getattr(module, n) for n in sorted(called) if callable(getattr(module, n, None))]
    return {"functions": dict(sorted(found.items())), "claims": claims(name, settings(config, name)), "words": e.words}


def declared(config: dict) -> dict:
    """What the protocol's hash covers: the ``protocol`` section (less ``compatible``, the list of
    earlier hashes accepted with a reason), the number of seeds of every enabled experiment (a
    confirmation's seed offset moves them, it does not change how many), the epoch caps of tuning,
    the epoch after which an experiment's arms may be read (its record's ``read_after``: the smooth
    shift's drift), every enabled experiment's config section (its settings, primary conditions,
    arms and grids), the code that decides its verdicts (``deciding_code``) and the code of the
    rules that read and judge every experiment (``RULES``, as syntax)."""
    n = lambda s: s if isinstance(s, int) else len(s)  # noqa: E731
    exps, on = config["experiments"], enabled(config)
    seeds = {k: n(section(config, k).get("seeds", config["seeds"])) for k in sorted(on)}  # the hypothesis: diagnostics.seeds
    caps = {"train": config["train"]["tune_epochs"]} | {
        k: v["tune_epochs"] for k, v in sorted(exps.items()) if v.get("enabled") and v.get("tune_epochs")
    }
    after = {k: v[REGISTRY[k].read_after] for k, v in sorted(exps.items()) if v.get("enabled") and k in REGISTRY and REGISTRY[k].read_after}
    sections = {k: {key: v for key, v in section(config, k).items() if key not in ("seeds", *PLACEMENT)} for k in on}
    code = {k: deciding_code(config, k) for k in on} | {m: syntax(inspect.getsource(importlib.import_module(m))) for m in RULES}
    code["judge_all"] = syntax(inspect.getsource(judge_all))  # how each experiment's family is judged
    protocol = {k: v for k, v in config["protocol"].items() if k != "compatible"}
    return {"protocol": protocol, "seeds": seeds, "caps": caps, "read_after": after, "sections": sections, "code": code}


def protocol_hash(config: dict) -> str:
    """The first 12 hex digits of the SHA-256 of ``declared(config)`` as canonical JSON."""
    return hashlib.sha256(json.dumps(declared(config), sort_keys=True).encode()).hexdigest()[:12]


def stamp(config: dict) -> dict:
    """The protocol a result was produced under: ``{version, hash}`` (for provenance and the summary)."""
    return {"version": config["protocol"]["version"], "hash": protocol_hash(config)}
