import sys
from pathlib import Path

from warmstart import runs as run_table
from warmstart.config import ConfigError, validate

try:
    validate(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
except ConfigError as e:
    sys.exit(f"Error: {e}")

TABLE = run_table.build(config)
RUNS = TABLE.runs
ENV = "../../envs/warmstart.yaml"


wildcard_constraints:
    dataset="[a-z0-9]+",
    fraction=r"[0-9.e-]+",


def run_spec(wildcards):
    if wildcards.run not in RUNS:
        raise ValueError(
            f"results/runs/{wildcards.run}: no such run in the run table of this config"
        )
    return RUNS[wildcards.run]


def train_inputs(wildcards):
    """The data set, the subset's index file and the parent's model a run needs."""
    spec = run_spec(wildcards)
    inputs = {"data": f"results/data/{spec['dataset']}/data.pt"}
    if spec["subset"] < 1:
        inputs["subset"] = (
            f"results/data/{spec['dataset']}/subsets/fraction~{spec['subset']:g}.pt"
        )
    if spec["parent"]:
        inputs["parent"] = f"results/runs/{spec['parent']}/model.pt"
    return inputs


def dataset_params(wildcards):
    """Only the settings that change the prepared data of this data set."""
    d = config["dataset"]
    if wildcards.dataset == "mnist1d":
        return {k: d[k] for k in ("num_train", "num_test", "generator_seed")}
    return {"root": d["root"], "download": d["download"]}


def figures():
    """Every figure of the enabled experiments, PNG and PDF."""
    names = []
    if config["experiments"].get("fraction", {}).get("enabled"):
        names += ["fraction_curves", "fraction"]
    return expand("results/figures/{name}.{ext}", name=names, ext=("png", "pdf"))
