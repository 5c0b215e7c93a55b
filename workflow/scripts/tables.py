import json

import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.errors import ConfigError
from warmstart.jobs import job
from warmstart.runs import drift
from warmstart.tables import final_table, read, runs_table, timing_table

with job(snakemake.log[0]):
    metrics = pd.concat([read(p) for p in snakemake.input.metrics], ignore_index=True)
    p = snakemake.params
    stops = {r["id"]: r["stop"] for r in p.runs if r["stop"]}
    planned = {r["id"]: r for r in p.runs}
    seconds, protocols = {}, {}  # training time per run (its shard's, shared equally by its seeds); its protocol hash
    for path in snakemake.input.provenance:
        prov = json.loads(open(path).read())
        if differs := drift(planned[prov["run"]["id"]], prov["run"]):
            raise ConfigError(
                f"{path}: trained with {', '.join(f'{k} {t!r}' for k, (t, _) in differs.items())} where the study plans "
                f"{', '.join(f'{k} {q!r}' for k, (_, q) in differs.items())} (a setting resolved where the job ran, as "
                "train.precision: auto on another kind of CPU); set it explicitly, remove that run's folder and rerun"
            )
        seconds[prov["run"]["id"]] = prov["seconds"]["train_shard"] / len(prov["shard"]["seeds"])
        protocols[prov["run"]["id"]] = (prov.get("protocol") or {}).get("hash")
        if prov["run"]["id"] in p.drawn and not prov.get("curves", True):
            raise ConfigError(
                f"{path}: a figure draws this run's curves, but it was evaluated only where it could be read (trained before a "
                "figure drew it); remove that run's folder and rerun"
            )
    final = final_table(p.rows, metrics, stops)
    out = snakemake.output
    tables = {out.final: final, out.metrics: metrics, out.runs: runs_table(p.runs, protocols), out.timing: timing_table(seconds)}
    for path, table in tables.items():
        atomic_write_text(table.to_csv(index=False), path)
