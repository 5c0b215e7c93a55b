import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.tables import final_table, gap_table, runs_table

with job(snakemake.log[0]):
    metrics = pd.concat([pd.read_csv(p) for p in snakemake.input], ignore_index=True)
    final = final_table(snakemake.params.rows, metrics, snakemake.params.window, snakemake.params.thresholds)
    out = snakemake.output
    tables = {out.final: final, out.gap: gap_table(final), out.metrics: metrics, out.runs: runs_table(snakemake.params.runs)}
    for path, table in tables.items():
        atomic_write_text(table.to_csv(index=False), path)
