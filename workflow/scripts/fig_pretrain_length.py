import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import pretrain_length_figure, save

with job(snakemake.log[0]):
    fig = pretrain_length_figure(pd.read_csv(snakemake.input.final))
    save(fig, snakemake.output.png, snakemake.output.pdf)
