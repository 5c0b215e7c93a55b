import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import hypothesis_figure, save
from warmstart.summary import hypothesis_table

with job(snakemake.log[0]):
    h = hypothesis_table(pd.read_csv(snakemake.input.diagnostics), pd.read_csv(snakemake.input.final))
    save(hypothesis_figure(h), snakemake.output.png, snakemake.output.pdf)
