import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import diagnostics_figure, save

with job(snakemake.log[0]):
    family = snakemake.wildcards.family
    fig = diagnostics_figure(pd.read_csv(snakemake.input[0]), snakemake.params.quantities, f"Diagnostics: {family}")
    save(fig, snakemake.output.png, snakemake.output.pdf)
