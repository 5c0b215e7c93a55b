import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.tables import diagnostics_table, read

with job(snakemake.log[0]):
    rows = pd.concat([read(p) for p in snakemake.input], ignore_index=True)
    atomic_write_text(diagnostics_table(rows, snakemake.params.targets).to_csv(index=False), snakemake.output[0])
