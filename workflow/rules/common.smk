import hashlib
import re
import sys
from pathlib import Path
from types import ModuleType

from warmstart import experiments, plotting
from warmstart import tables as tables_module
from warmstart import summary as summary_module
from warmstart import runs as run_table
from warmstart import diagnosis, names, shards
from warmstart.config import ConfigError, validate

try:
    validate(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
except ConfigError as e:
    sys.exit(f"Error: {e}")

TABLE = experiments.build(config)
RUNS = TABLE.runs
# what each enabled experiment's verdicts and figures read (a config slice per experiment)
SETTINGS = {
    name: experiments.settings(config, name) for name in experiments.enabled(config)
}
FIGURES = experiments.figures(config, TABLE)  # figure name -> (experiment, Figure)
# an experiment's own tables: file name -> experiment
TABLES = experiments.own_tables(config)
# the figures the README shows (`snakemake docs`)
DOC_FIGURES = [name for name, (_, f) in FIGURES.items() if f.readme]
DIAGNOSE = TABLE.diagnose_jobs()
# Batches of diagnosed runs of one group, one diagnose job each (one process, the data loaded once)
DIAGNOSE_BATCHES = shards.partition(
    sorted(DIAGNOSE), config.get("diagnostics", {}).get("runs_per_job", 16)
)
# Shards of seeds, one training job each (a finished run keeps the shard that trained it)
SHARD_OF = shards.plan(list(RUNS), config["train"]["seeds_per_job"])
# Each training job's priority: the expected seconds of the longest chain of training jobs it
# starts (its own cost from a previous study's timing.csv where there is one, else its epoch cap x
# model cost), so that the shards that hold up the most work start first
PRIORITY = shards.critical_paths(
    SHARD_OF, RUNS, shards.run_costs(RUNS, "results/tables/timing.csv")
)
# the seconds-long jobs that unblock training (data, subsets, linking a finished run into place)
# run before any training job: otherwise a ready shard of a short chain would go before them
UNBLOCK = max(PRIORITY.values(), default=0.0) + 1


def shard_runs(wildcards):
    """The runs of this job's shard that the config still asks for."""
    return [r for r in names.members(wildcards.shard) if r in RUNS]


# GPUs requested by each training and diagnostic job (a cluster executor turns this into --gpus)
GPUS = config["train"]["gpus"]
if GPUS is None:
    GPUS = int(config["train"]["device"].startswith("cuda"))
ENV = "../../envs/warmstart.yaml"


wildcard_constraints:
    dataset="[a-z0-9_]+",
    subset=r"(fraction|stages)~[^/]+",
    run=r".+/seed~\d+",
    shard=r".+/seeds~[0-9,\-]+",
    batch=r".+/seeds~[0-9,\-]+",


def batch_runs(wildcards):
    """The runs diagnosed by this job."""
    if wildcards.batch not in DIAGNOSE_BATCHES:
        raise ValueError(
            f"results/diagnostics/{wildcards.batch}: no such batch of diagnosed runs in this config"
        )
    return DIAGNOSE_BATCHES[wildcards.batch]


def batch_dataset(wildcards):
    """The data set of this diagnose job's runs (a batch is one group: one data set)."""
    return RUNS[batch_runs(wildcards)[0]]["dataset"]


def seen_file(wildcards, run):
    """The index file of the pretraining subset a diagnosed run's *seen* half is drawn from."""
    return f"results/data/{batch_dataset(wildcards)}/subsets/{DIAGNOSE[run]['seen']}.pt"


def run_spec(wildcards):
    """The run of ``results/runs/<run>/``."""
    if wildcards.run not in RUNS:
        raise ValueError(
            f"results/runs/{wildcards.run}: no such run in the run table of this config"
        )
    return RUNS[wildcards.run]


def shard_inputs(wildcards):
    """The data set, the subsets' index files and the parents' models a shard needs."""
    specs = [RUNS[run] for run in shard_runs(wildcards)]
    spec = specs[0]
    inputs = {"data": f"results/data/{spec['dataset']}/data.pt"}
    for name in (spec["subset"], (spec["shift"] or {}).get("subset")):
        if name:
            inputs[name] = f"results/data/{spec['dataset']}/subsets/{name}.pt"
    if spec["parent"]:
        inputs["parents"] = [f"results/runs/{s['parent']}/model.pt" for s in specs]
    return inputs


def dataset_params(wildcards):
    """Only the settings that change the prepared data of this data set."""
    d = config["dataset"]
    if wildcards.dataset == "mnist1d":
        # test_seed only when set: a new key at its default must leave the params (and
        # so every run downstream) as they were
        new_test_set = (
            {"test_seed": d["test_seed"]} if d["test_seed"] is not None else {}
        )
        return {
            k: d[k] for k in ("num_train", "num_test", "generator_seed")
        } | new_test_set
    return {"root": d["root"], "download": d["download"]}


def uses(*roots):
    """The library's modules that ``roots`` use, transitively: each module and every
    ``warmstart`` module that one of its top-level names comes from (an imported module,
    function, class or object), in name order."""
    seen, todo = {}, list(roots)
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        seen[mod.__name__] = mod
        for value in vars(mod).values():
            name = (
                value.__name__
                if isinstance(value, ModuleType)
                else getattr(value, "__module__", None)
            )
            if isinstance(name, str) and name.split(".")[0] == "warmstart":
                todo.append(sys.modules[name])
    return [seen[name] for name in sorted(seen)]


def code_version(*roots, files=()):
    """The SHA-256 of the source of the modules ``roots`` use (``uses``) and of ``files``: a
    param of the jobs they drive, so that editing that code reruns them while moving the study
    or installing the library elsewhere (another absolute path, the same bytes) reruns nothing.
    """
    digest = hashlib.sha256()
    for path in [m.__file__ for m in uses(*roots)] + [str(f) for f in files]:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def figure_tables(wildcards):
    """The tables a figure is drawn from."""
    if wildcards.figure not in FIGURES:
        raise ValueError(
            f"results/figures/{wildcards.figure}: no such figure among the enabled experiments"
        )
    return {t: f"results/tables/{t}.csv" for t in FIGURES[wildcards.figure][1].tables}


def figure_code(wildcards):
    """A figure's experiment module, the shared plotting code and the style file, by content:
    editing one experiment's figure code (or the style) redraws that experiment's figures only.
    """
    name = FIGURES[wildcards.figure][0]
    return code_version(experiments.module(name), plotting, files=[plotting.STYLE])


def targets():
    """Every output of the study: the summary, each figure as PNG and PDF, the experiments' own tables."""
    out = ["results/summary.md"]
    out += expand("results/figures/{figure}.{ext}", figure=FIGURES, ext=("png", "pdf"))
    out += expand("results/tables/{table}", table=TABLES)
    return out


def setting_description():
    """One line naming the study's setting, for the summary."""
    c, m, t = config["dataset"], config["model"], config["train"]
    return (
        f"{c['name']}, {m['name']} (width {m['width']}, depth {m['depth']}), {t['optimizer']} lr {t['lr']:g}, "
        f"batch {t['batch_size']}, {'bf16 autocast' if t['precision'] == 'bf16' else 'fp32'}, "
        f"{t['pretrain_epochs']} pretraining epochs, tuning capped at {t['tune_epochs']}, "
        f"every tuning run read under the protocol's rule; seeds: {config['seeds']} "
        "(experiments may set their own)"
    )
