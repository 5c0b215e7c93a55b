import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import save, speed_figure

with job(snakemake.log[0]):
    fig = speed_figure(pd.read_csv(snakemake.input.metrics), pd.read_csv(snakemake.input.final), snakemake.params.threshold)
    save(fig, snakemake.output.png, snakemake.output.pdf)
