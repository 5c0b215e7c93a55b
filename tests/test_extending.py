"""README's "Extending", done as a user would, on the finished tiny study: a toy experiment (its
module, its schema section, its entry in the tiny config, the tiny run table's digest) and a toy
intervention (its module, its test, its arena entry in the tiny config, the same digest) added
through the registries alone; the files touched are counted against the README, the copy's own
structure, protocol and config tests pass, and only the toy's runs train."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from studies import planned, snakemake

from warmstart import names

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.workflow]

EXPERIMENT = '''"""A toy experiment: the warm-start gap at one pretraining fraction."""

import matplotlib.pyplot as plt

from warmstart.experiments.base import Experiment, Figure, gap, select

NAME = "toy"


def runs(t, cfg):
    s = t.setting()
    for seed in t.seeds(cfg):
        pre = t.pretrain(s, cfg["fraction"], seed)
        t.pair(NAME, seed, t.warm(s, pre, seed), t.fresh(s, seed), fraction=cfg["fraction"])


def contrasts(tables, cfg):
    return [gap("main", "toy gap", select(tables["final"], NAME, fraction=cfg["fraction"]))]


def draw(tables, cfg):
    fig, ax = plt.subplots()
    rows = tables["final"][tables["final"].experiment == NAME]
    ax.scatter(rows.arm, rows.final_test_acc)
    return fig


EXPERIMENT = Experiment(
    name=NAME,
    order=5,
    title="A toy experiment",
    claims={"main": "Warm-starting from the toy fraction generalises worse than a fresh start."},
    runs=runs,
    contrasts=contrasts,
    figures={"toy": Figure(draw, ("final",), "The toy experiment's test accuracies per arm.")},
)
'''

INTERVENTION = '''"""Scale at the warm start (a toy): every parameter theta <- factor * theta."""

import torch

from warmstart.interventions.base import Intervention


@torch.no_grad()
def start(model, spec, ctx):
    for p in model.parameters():
        p.mul_(spec["intervention"]["factor"])


INTERVENTION = Intervention("toy_scale", {"factor": {"type": "number", "exclusiveMinimum": 0}}, at_start=start, order=40)
'''

INTERVENTION_TEST = """import torch

from warmstart.atomic import save_checked
from warmstart.models import build_model
from warmstart.runs import FIELD_DEFAULTS
from warmstart.starts import initial_model


def test_toy_scale_scales_every_parameter_of_the_warm_start(tmp_path):
    parent = build_model("mlp", (40,), 10, 1, width=8, depth=1)
    save_checked({"model": parent.state_dict(), "snapshots": {}}, tmp_path / "parent.pt")
    spec = FIELD_DEFAULTS | {"init_seed": 0, "order_seed": [0, 1], "parent": "p", "model": {"name": "mlp", "width": 8, "depth": 1},
                             "intervention": {"name": "toy_scale", "factor": 0.5}}
    model = initial_model(spec, {"input_shape": (40,), "num_classes": 10}, tmp_path / "parent.pt")
    for (k, p), q in zip(model.state_dict().items(), parent.state_dict().values()):
        assert torch.equal(p, 0.5 * q), k
"""


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": f"{workdir}{os.pathsep}{workdir / 'tests'}"}
    return subprocess.run([sys.executable, *args], cwd=workdir, capture_output=True, text=True, env=env)


def readme_files(what: str) -> int:
    """The number of files the README's "Extending" says ``what`` (``experiment``, ``intervention``) takes."""
    return int(re.search(rf"\*\*A new {what}\*\* \((\d+) files\)", (ROOT / "README.md").read_text()).group(1))


def digest(workdir: Path) -> str:
    code = "from test_protocol import CONFIGS, merged, run_table_digest; print(run_table_digest(merged(CONFIGS['tiny'])))"
    out = run(workdir, "-c", code)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def protocol_hash(workdir: Path) -> str:
    code = "from test_protocol import CONFIGS, merged\nfrom warmstart import experiments as e\n"
    code += "print(e.protocol_hash(merged(CONFIGS['tiny'])))"
    out = run(workdir, "-c", code)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def trained(jobs: dict[str, list[str]]) -> set[str]:
    runs_ = {t.removeprefix("run=") for t in jobs.get("run", [])}
    assert runs_ <= {r for t in jobs.get("train", []) for r in names.members(t.removeprefix("shard="))}
    return runs_


def test_a_toy_experiment_and_a_toy_intervention_join_through_the_registries_alone(tiny_study, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(tiny_study, study, symlinks=True)
    for item in ("tests", "docs", "tools", "benchmarks"):  # what the copy's own tests read
        shutil.copytree(ROOT / item, study / item, ignore=shutil.ignore_patterns("__pycache__"))
    old_digest, old_hash = digest(study), protocol_hash(study)
    runs_before = set(run(study, "-c", RUNS).stdout.split())
    touched: dict[str, set[str]] = {"experiment": set(), "intervention": set()}

    def write(what: str, path: str, text: str) -> None:
        (study / path).write_text(text)
        touched[what].add(path)

    # the experiment: its module, its schema section, its entry in the tiny config
    write("experiment", "warmstart/experiments/toy.py", EXPERIMENT)
    schema = yaml.safe_load((study / "workflow/schemas/config.schema.yaml").read_text())
    schema["properties"]["experiments"]["properties"]["toy"] = {
        "type": "object", "additionalProperties": False,
        "properties": {"enabled": {"type": "boolean", "default": False}, "seeds": {"$ref": "#/$defs/seeds"},
                       "fraction": {"$ref": "#/$defs/fraction", "default": 0.5}},
    }  # fmt: skip
    write("experiment", "workflow/schemas/config.schema.yaml", yaml.safe_dump(schema, sort_keys=False))
    tiny = yaml.safe_load((study / "configs/tiny.yaml").read_text())
    tiny["experiments"]["toy"] = {"enabled": True, "fraction": 0.75}  # a pretraining the study lacks
    write("experiment", "configs/tiny.yaml", yaml.safe_dump(tiny, sort_keys=False))
    # the intervention: its module, its test, its entry in the arena of the tiny config
    write("intervention", "warmstart/interventions/toy_scale.py", INTERVENTION)
    write("intervention", "tests/test_toy_scale.py", INTERVENTION_TEST)
    tiny["experiments"]["arena"]["arms"].append({"name": "toy_scale", "factor": 0.9})
    write("intervention", "configs/tiny.yaml", yaml.safe_dump(tiny, sort_keys=False))
    # the finished study's runs were trained under the earlier protocol: the verdicts accept them only when the config
    # lists that hash with its reason (in the tiny config: no new file)
    assert protocol_hash(study) != old_hash
    tiny["protocol"]["compatible"] = {old_hash: "the toy experiment and the toy arm added; no earlier rule changed"}
    for what in touched:
        write(what, "configs/tiny.yaml", yaml.safe_dump(tiny, sort_keys=False))
    # both change the tiny study's run table, whose digest the protocol test holds: the same file for both
    new_digest = digest(study)
    assert new_digest != old_digest
    protocol_test = (study / "tests/test_protocol.py").read_text()
    for what in touched:
        write(what, "tests/test_protocol.py", protocol_test.replace(f'"tiny": "{old_digest}"', f'"tiny": "{new_digest}"'))
    assert {what: len(files) for what, files in touched.items()} == {w: readme_files(w) for w in touched}

    tests = ("tests/test_protocol.py", "tests/test_structure.py", "tests/test_config.py", "tests/test_toy_scale.py")
    out = run(study, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests)
    assert out.returncode == 0, out.stdout[-3000:]
    new_runs = set(run(study, "-c", RUNS).stdout.split()) - runs_before
    assert new_runs and trained(planned(study)) == new_runs  # only the toy's runs train
    out = snakemake(study, "--cores", "2", "--configfile", "configs/tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    summary = (study / "results/summary.md").read_text()
    assert "## A toy experiment (`toy`)" in summary and summary.index("(`toy`)") < summary.index("(`fraction`)")  # its order
    toy = summary[summary.index("(`toy`)") : summary.index("(`fraction`)")]
    assert "Warm-starting from the toy fraction" in toy and "**Verdict: " in toy and "toy gap" in toy
    assert "toy_scale (factor 0.9) closes the warm-start gap" in summary
    assert (study / "results/figures/toy.png").stat().st_size > 0
    final = (study / "results/tables/final.csv").read_text()
    assert "toy,fraction=0.75,warm," in final and ",toy_scale," in final
    assert (study / "results/runs/mnist1d/mlp/adam/warm/fraction~0.5/toy_scale-factor~0.9/seed~0/model.pt").exists()
    assert planned(study) == {}


RUNS = "from test_runs import study; from warmstart import experiments; print(*experiments.build(study()).runs)"
