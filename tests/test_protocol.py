"""The protocol: declared, versioned and hashed; every pair differs only in its experiment's factor;
every tuning run is stopped and read by the one rule; a warm start's noise is its own."""

import copy
import hashlib
import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from snakemake.utils import update_config

from warmstart import config as config_module
from warmstart import experiments, protocol
from warmstart import runs as runs_module
from warmstart.config import validate
from warmstart.randomness import PERTURB, draw_seed
from warmstart.starts import fresh_model, initial_model

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
CONFIGS = {
    "default": ["config.yaml"],
    "tiny": ["config.yaml", "configs/tiny.yaml"],
    "cifar10": ["config.yaml", "configs/cifar10.yaml"],
    "quick": ["config.yaml", "configs/quick.yaml"],
}


def merged(files: list[str]) -> dict:
    """The config files merged as ``--configfile`` merges them, validated."""
    config = yaml.safe_load((ROOT / files[0]).read_text())
    for f in files[1:]:
        update_config(config, yaml.safe_load((ROOT / f).read_text()))
    return validate(config, SCHEMA)


def listed_hashes() -> dict[tuple[int, str], str]:
    """(version, config file) -> hash, from the table of docs/protocol.md."""
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| `([^`]+)` \| `([0-9a-f]{12})` \|", (ROOT / "docs/protocol.md").read_text(), re.M)
    return {(int(v), f): h for v, f, h in rows}


@pytest.mark.parametrize("name,listed", [("default", "config.yaml"), ("cifar10", "configs/cifar10.yaml"), ("quick", "configs/quick.yaml")])
def test_the_shipped_protocols_are_the_versions_listed_in_the_docs(name, listed):
    """A change of the protocol after results must be a new version with its reason in docs/protocol.md."""
    stamp = experiments.stamp(merged(CONFIGS[name]))
    assert listed_hashes()[(stamp["version"], listed)] == stamp["hash"], "protocol changed: list a new version in docs/protocol.md"


def test_the_hash_follows_what_is_declared_and_nothing_else():
    config = merged(CONFIGS["default"])
    h = experiments.protocol_hash(config)
    for edit in (
        lambda c: c["protocol"]["read"].update(consecutive=3),
        lambda c: c["protocol"].update(margin_accuracy=0.01),
        lambda c: c["experiments"]["tune_lr"].update(tune_epochs=300),
        lambda c: c["experiments"]["fraction"].update(seeds=16),
        lambda c: c["experiments"]["smooth_shift"].update(shift_epochs=50),
    ):
        changed = copy.deepcopy(config)
        edit(changed)
        assert experiments.protocol_hash(changed) != h
    for edit in (  # what decides is covered too: a primary setting, an arm, a grid, the hypothesis's seeds
        lambda c: c["diagnostics"].update(seeds=8),
        lambda c: c["experiments"]["shrink_perturb"].update(primary=[0.3, 0.001]),
        lambda c: c["experiments"]["arena"]["arms"].pop(),
        lambda c: c["experiments"]["fraction"].update(curves_fraction=0.25),
    ):
        changed = copy.deepcopy(config)
        edit(changed)
        assert experiments.protocol_hash(changed) != h
    # new seeds and new data, the same protocol: the confirmation differs only in leaving out Table 1's ResNet rows
    confirm, default = experiments.declared(merged(["config.yaml", "configs/confirm.yaml"])), experiments.declared(config)
    table1 = default["sections"]["table1"] | {"models": [m for m in default["sections"]["table1"]["models"] if m != "resnet"]}
    assert confirm == default | {"sections": default["sections"] | {"table1": table1}}
    listed = copy.deepcopy(config)
    listed["protocol"]["compatible"] = {"0123456789ab": "an earlier hash accepted with its reason"}
    listed["diagnostics"]["runs_per_job"] = 4  # how diagnosed runs are grouped into jobs
    assert experiments.protocol_hash(listed) == h  # the list of accepted hashes and the placement are not the protocol


def test_the_code_digest_is_of_code_alone_and_the_same_on_every_python():
    """Comments, docstrings and layout do not count; the digest is of plain data, not ``ast.dump``'s
    text (which differs between Python 3.11, 3.12 and 3.13): a fixed source has a fixed digest."""
    source = 'def f(x):\n    """Doubled."""\n    return 2 * x  # twice\n'
    assert experiments.syntax(source) == experiments.syntax('def f(x):\n    """Twice x."""\n\n    return 2*x\n')
    assert experiments.syntax(source) != experiments.syntax("def f(x):\n    return 3 * x\n")
    assert experiments.syntax(source) == "09560887271133484f11714c7bb171f52f2916f6472037d6ee3dfec3dbb9f9ac"  # on 3.11, 3.12, 3.13


EXPERIMENT_CODE = """from warmstart.experiments.base import Experiment
from warmstart.verdicts import Contrast


def _share(values):
    return values * {factor}  # {comment}


def contrasts(tables, cfg):
    return [Contrast("main", "c", "effect", _share(tables["final"].x), True)]


def figure(tables, cfg):
    return {figure}


EXPERIMENT = Experiment(name="{name}", order=999, title="t", claims={{"main": "m"}}, runs=lambda t, c: None,
                        contrasts=contrasts, figures={{}}, words={{"reproduced": "{word}"}})
"""


def test_the_hash_covers_the_code_that_decides_a_verdict_and_not_its_figures(tmp_path, monkeypatch):
    """An edit of a contrast, of a function it calls or of a verdict word changes an experiment's
    declared code; a comment, the layout or a figure's code does not."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(tmp_path))
    base = dict(factor="1.0", comment="a share", figure="None", word="closes")

    def code(name: str, **edit: str) -> dict:
        (tmp_path / f"{name}.py").write_text(EXPERIMENT_CODE.format(name=name, **(base | edit)))
        record = importlib.import_module(name).EXPERIMENT
        monkeypatch.setitem(experiments.REGISTRY, name, record)
        out = experiments.deciding_code(merged(CONFIGS["default"]) | {"experiments": {name: {}}}, name)
        sys.modules.pop(name)
        return out

    reference = code("exp_ref")
    assert set(reference["functions"]) == {"contrasts", "_share"}  # the helper it calls, not the figure
    assert code("exp_comment", comment="another comment") == reference
    assert code("exp_figure", figure="1") == reference
    assert code("exp_helper", factor="2.0") != reference
    assert code("exp_word", word="narrows") != reference


def test_a_run_under_another_protocol_is_refused_in_one_line_unless_listed_with_a_reason():
    recorded = {"a/seed~0": "aaaaaaaaaaaa", "a/seed~1": "aaaaaaaaaaaa", "b/seed~0": "bbbbbbbbbbbb", "c/seed~0": None}
    protocol.check_recorded({"a/seed~0": "aaaaaaaaaaaa"}, "aaaaaaaaaaaa", {})
    with pytest.raises(config_module.ConfigError) as e:
        protocol.check_recorded(recorded, "aaaaaaaaaaaa", {})
    line = str(e.value)
    assert "\n" not in line and "1 runs under bbbbbbbbbbbb (e.g. b/seed~0)" in line and "no recorded protocol (e.g. c/seed~0)" in line
    assert "the study's protocol hash is aaaaaaaaaaaa" in line and "protocol.compatible" in line
    protocol.check_recorded({"b/seed~0": "bbbbbbbbbbbb"}, "aaaaaaaaaaaa", {"bbbbbbbbbbbb": "same rules, experiment added"})


@pytest.mark.parametrize("name", CONFIGS)
def test_every_pair_differs_only_in_its_experiments_factor(name):
    table = experiments.build(merged(CONFIGS[name]))
    assert experiments.pair_differences(table) == []
    rule = protocol.read_rule(table.config)
    read = {row["run"] for row in table.rows}
    # every arm stopped and read by the one rule; the smooth shift's arms both from the end of its drift
    assert all({k: v for k, v in table.runs[r]["stop"].items() if k != "from"} == rule for r in read)
    after = {r: table.runs[r]["stop"].get("from") for r in read}
    shift = {row["run"] for row in table.rows if row["experiment"] == "smooth_shift"}
    assert {after[r] for r in shift} == ({table.config["experiments"]["smooth_shift"]["shift_epochs"]} if shift else set())
    assert all(after[r] is None for r in read - shift)


def test_a_pair_that_differs_outside_its_factor_is_named():
    table = experiments.build(merged(CONFIGS["tiny"]))
    row = next(r for r in table.rows if r["experiment"] == "smooth_shift" and r["arm"] == "shift")
    table.runs[row["run"]] = table.runs[row["run"]] | {"stop": {"train_acc": 0.15, "consecutive": 2}, "epochs": 7}  # read from its start
    found = experiments.pair_differences(table)
    assert any(f"{row['run']} and " in line and "differ in 'stop'" in line for line in found)
    assert any("differ in 'epochs'" in line for line in found)
    table = experiments.build(merged(CONFIGS["tiny"]))
    row = next(r for r in table.rows if r["experiment"] == "fraction" and r["arm"] == "warm")
    parent = table.runs[row["run"]]["parent"]
    table.runs[parent] = table.runs[parent] | {"init_seed": 99}
    assert any("does not start as" in line and "(init_seed)" in line for line in experiments.pair_differences(table))
    table = experiments.build(merged(CONFIGS["tiny"]))
    arm = next(r["run"] for r in table.rows if r["experiment"] == "arena" and r["arm"] not in ("warm", "fresh"))
    table.runs[arm] = table.runs[arm] | {"parent": table.runs[arm]["parent"].replace("fraction~0.5", "fraction~0.25")}
    assert any(line.startswith("arena seed 0: its warm arms start from 2 parents") for line in experiments.pair_differences(table))


def test_each_round_of_a_chain_draws_its_own_shrink_and_perturb_noise(tmp_path):
    from warmstart import data
    from warmstart.atomic import save_checked

    config = merged(CONFIGS["tiny"])
    config["experiments"]["chain"]["arms"] = ["shrink_perturb"]
    config["experiments"]["arena"]["arms"].append({"name": "shrink_perturb", "shrink": 0.5, "perturb": 0.1})
    config["experiments"]["arena"]["grids"]["shrink_perturb"] = {"shrink": [0.5], "perturb": [0.1]}
    table = experiments.build(config)
    sp = [r for r in table.runs.values() if r["shrink"] is not None and "chain~" in r["id"] and r["init_seed"] == 0]
    two, three = sorted(sp, key=lambda r: r["id"])[:2]
    assert (two["order_seed"], three["order_seed"]) != (three["order_seed"], two["order_seed"])
    assert draw_seed(PERTURB, two) != draw_seed(PERTURB, three)
    meta = data.prepare("mnist1d", num_train=50, num_test=10)["meta"]
    parent = tmp_path / "parent.pt"
    save_checked({"model": fresh_model(two, meta, 123).state_dict()}, parent)  # the same state before either round's warm start
    a, b = (initial_model(r | {"parent_epoch": None}, meta, parent) for r in (two, three))
    again = initial_model(two | {"parent_epoch": None}, meta, parent)
    weight = lambda m: next(m.parameters())  # noqa: E731
    assert not torch.equal(weight(a), weight(b))  # two rounds: different noise
    assert torch.equal(weight(a), weight(again))  # the same round twice: the same


def run_table_digest(config: dict) -> str:
    """SHA-256 (12 hex digits) of a study's run table: every run's id and identity, every row."""
    table = experiments.build(config)
    runs = {k: runs_module.identity(v) for k, v in sorted(table.runs.items())}
    return hashlib.sha256(json.dumps([runs, table.rows], sort_keys=True, default=str).encode()).hexdigest()[:12]


# The run tables of the studies already run: a change to any run id, run or row (a renamed field, a
# new default, a reordered stream) fails here and must be said as new runs to train. 2026-11-29: the
# arena's five new arms add 144 runs to the default (its 4,512 earlier runs unchanged, compared by id and identity);
# protocol version 3's three counterpoints and Table 1's digits add more (earlier runs again unchanged).
RUN_TABLES = {"default": "517598f843cb", "tiny": "be3ff4890cf1", "cifar10": "96c912efc69a", "quick": "b4685214c6fb"}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_run_tables_of_the_shipped_studies_are_unchanged(name, monkeypatch):
    # as planned where `precision: auto` is fp32 (a CPU without native bf16, where the studies were trained): on a CPU
    # with AVX512_BF16 every run of the default would be a bf16 run, a new run, by design
    monkeypatch.setattr(config_module, "native_bf16_cpu", lambda: False)
    assert run_table_digest(merged(CONFIGS[name])) == RUN_TABLES[name]
