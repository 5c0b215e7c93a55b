import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import save, shrink_perturb_figure

with job(snakemake.log[0]):
    fig = shrink_perturb_figure(pd.read_csv(snakemake.input.final))
    save(fig, snakemake.output.png, snakemake.output.pdf)
