import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.experiments import judge_all
from warmstart.jobs import job
from warmstart.protocol import check_recorded
from warmstart.tables import gap_table, read

with job(snakemake.log[0]):
    tables = {name: read(path) for name, path in snakemake.input.items() if name in ("final", "diagnostics")}
    p = snakemake.params
    runs = pd.read_csv(snakemake.input.runs, dtype={"protocol_hash": str}, keep_default_na=False)  # a hash may look like a number
    check_recorded(dict(zip(runs.run, runs.protocol_hash)), p.stamp["hash"], p.protocol["compatible"])  # one line, or judged
    contrasts = judge_all(tables, p.experiments, p.protocol)
    atomic_write_text(contrasts.to_csv(index=False), snakemake.output.contrasts)
    atomic_write_text(gap_table(tables["final"], contrasts, p.protocol["margin_accuracy"]).to_csv(index=False), snakemake.output.gap)
