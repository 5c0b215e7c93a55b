import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import save, tune_lr_figure

with job(snakemake.log[0]):
    fig = tune_lr_figure(pd.read_csv(snakemake.input.final))
    save(fig, snakemake.output.png, snakemake.output.pdf)
