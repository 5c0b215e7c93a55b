import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import fraction_figure, save

with job(snakemake.log[0]):
    fig = fraction_figure(pd.read_csv(snakemake.input.final), pd.read_csv(snakemake.input.gap))
    save(fig, snakemake.output.png, snakemake.output.pdf)
