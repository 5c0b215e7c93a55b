import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.summary import summary

with job(snakemake.log[0]):
    final, gap = pd.read_csv(snakemake.input.final), pd.read_csv(snakemake.input.gap)
    diag = pd.read_csv(snakemake.input.diagnostics) if "diagnostics" in snakemake.input.keys() else None
    atomic_write_text(summary(gap, final, snakemake.params.experiments, snakemake.params.setting, diag), snakemake.output[0])
