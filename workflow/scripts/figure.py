import matplotlib.pyplot as plt
import pandas as pd

from warmstart.experiments import owner
from warmstart.jobs import job
from warmstart.plotting import STYLE, save

with job(snakemake.log[0]):
    p = snakemake.params
    fig_spec = owner(p.experiment).FIGURES[snakemake.wildcards.figure]
    tables = {name: pd.read_csv(snakemake.input[name]) for name in fig_spec.tables}
    with plt.style.context(STYLE):
        fig = fig_spec.draw(tables, p.settings)
        save(fig, snakemake.output.png, snakemake.output.pdf)
