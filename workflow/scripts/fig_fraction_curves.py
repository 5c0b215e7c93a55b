import pandas as pd

from warmstart.jobs import job
from warmstart.plotting import learning_curves, save

with job(snakemake.log[0]):
    metrics, final = pd.read_csv(snakemake.input.metrics), pd.read_csv(snakemake.input.final)
    fig = learning_curves(metrics, final, snakemake.params.condition, snakemake.params.window)
    save(fig, snakemake.output.png, snakemake.output.pdf)
