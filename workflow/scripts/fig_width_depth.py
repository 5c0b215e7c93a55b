import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import save, width_depth_figure

with job(snakemake.log[0]):
    fig = width_depth_figure(pd.read_csv(snakemake.input.gap), pd.read_csv(snakemake.input.final))
    save(fig, snakemake.output.png, snakemake.output.pdf)
