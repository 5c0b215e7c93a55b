"""README's "Extending", done as a user would: a toy experiment (its module, its schema section, its
entry in the tiny config: 3 files) and a toy intervention (its module, its test, its arena entry)
added through the registries alone, then the tiny study run with them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

EXPERIMENT = '''"""A toy experiment: the warm-start gap at one pretraining fraction."""

import matplotlib.pyplot as plt

from warmstart.experiments.base import Figure, gap, select

NAME = "toy"
ORDER = 5
TITLE = "A toy experiment"
FACTOR: set[str] = set()
CLAIMS = {"main": "Warm-starting from the toy fraction generalises worse than a fresh start."}


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


FIGURES = {"toy": Figure(draw, ("final",), "The toy experiment's test accuracies per arm.")}
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
    env = os.environ | {"PYTHONPATH": str(workdir)}
    return subprocess.run([sys.executable, "-m", *args], cwd=workdir, capture_output=True, text=True, env=env)


def test_a_toy_experiment_and_a_toy_intervention_join_through_the_registries_alone(tmp_path):
    for item in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / item, tmp_path / item)
    for item in ("workflow", "configs", "envs", "warmstart"):
        shutil.copytree(ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__"))
    # the experiment: its module, its schema section, its entry in the tiny config
    (tmp_path / "warmstart/experiments/toy.py").write_text(EXPERIMENT)
    schema_file = tmp_path / "workflow/schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_file.read_text())
    schema["properties"]["experiments"]["properties"]["toy"] = {
        "type": "object", "additionalProperties": False,
        "properties": {"enabled": {"type": "boolean", "default": False}, "seeds": {"$ref": "#/$defs/seeds"},
                       "fraction": {"$ref": "#/$defs/fraction", "default": 0.5}},
    }  # fmt: skip
    schema_file.write_text(yaml.safe_dump(schema, sort_keys=False))
    tiny_file = tmp_path / "configs/tiny.yaml"
    tiny = yaml.safe_load(tiny_file.read_text())
    tiny["experiments"]["toy"] = {"enabled": True, "fraction": 0.25}
    # the intervention: its module, its test, its entry in the arena
    (tmp_path / "warmstart/interventions/toy_scale.py").write_text(INTERVENTION)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_toy_scale.py").write_text(INTERVENTION_TEST)
    tiny["experiments"]["arena"]["arms"].append({"name": "toy_scale", "factor": 0.9})
    tiny_file.write_text(yaml.safe_dump(tiny, sort_keys=False))
    # the run itself: the tiny study with only these two experiments (a scaffold, not part of the extension)
    only = {"diagnostics": {"enabled": False}, "experiments": {n: {"enabled": n in ("toy", "arena")} for n in tiny["experiments"]}}
    (tmp_path / "configs/only.yaml").write_text(yaml.safe_dump(only))

    test = run(tmp_path, "pytest", "-q", "-p", "no:cacheprovider", "tests/test_toy_scale.py")
    assert test.returncode == 0, test.stdout[-2000:]
    out = run(tmp_path, "snakemake", "--cores", "2", "--configfile", "configs/tiny.yaml", "configs/only.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    summary = (tmp_path / "results/summary.md").read_text()
    assert "## A toy experiment (`toy`)" in summary and summary.index("(`toy`)") < summary.index("(`arena`)")  # its ORDER
    toy = summary[summary.index("(`toy`)") : summary.index("(`arena`)")]
    assert "Warm-starting from the toy fraction" in toy and "**Verdict: " in toy and "toy gap" in toy
    assert "toy_scale (factor 0.9) closes the warm-start gap" in summary
    assert (tmp_path / "results/figures/toy.png").stat().st_size > 0
    final = (tmp_path / "results/tables/final.csv").read_text()
    assert "toy,fraction=0.25,warm," in final and ",toy_scale," in final
    assert (tmp_path / "results/runs/mnist1d/mlp/adam/warm/fraction~0.5/toy_scale-factor~0.9/seed~0/model.pt").exists()
