import json

import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.tables import final_table, gap_table

with job(snakemake.log[0]):
    metrics = pd.concat([pd.read_csv(p) for p in snakemake.input], ignore_index=True)
    final = final_table(snakemake.params.rows, metrics, snakemake.params.window)
    runs = pd.DataFrame({"run": [r["id"] for r in snakemake.params.runs], "parent": [r["parent"] or "" for r in snakemake.params.runs], "spec": [json.dumps(r, sort_keys=True) for r in snakemake.params.runs]})
    for table, path in ((final, snakemake.output.final), (gap_table(final), snakemake.output.gap), (metrics, snakemake.output.metrics), (runs, snakemake.output.runs)):
        atomic_write_text(table.to_csv(index=False), path)
