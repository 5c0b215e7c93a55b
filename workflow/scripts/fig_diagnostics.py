import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import diagnostics_figure, save

with job(snakemake.log[0]):
    family = snakemake.wildcards.family
    diag = pd.read_csv(snakemake.input[0])
    fig = diagnostics_figure(diag[diag.half == "unseen"], snakemake.params.quantities, f"Diagnostics on unseen examples: {family}")
    save(fig, snakemake.output.png, snakemake.output.pdf)
