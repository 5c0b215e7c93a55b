import matplotlib.pyplot as plt

from warmstart.experiments import owner
from warmstart.jobs import job
from warmstart.plotting import STYLE, save
from warmstart.tables import read

with job(snakemake.log[0]):
    p = snakemake.params
    fig_spec = owner(p.experiment).FIGURES[snakemake.wildcards.figure]
    tables = {name: read(snakemake.input[name]) for name in fig_spec.tables}
    with plt.style.context(STYLE):
        fig = fig_spec.draw(tables, p.settings)
        save(fig, snakemake.output.png, snakemake.output.pdf)
