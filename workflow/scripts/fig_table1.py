import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import save, table1_figure

with job(snakemake.log[0]):
    fig = table1_figure(pd.read_csv(snakemake.input.final))
    save(fig, snakemake.output.png, snakemake.output.pdf)
