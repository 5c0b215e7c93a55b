import matplotlib.pyplot as plt

from warmstart.experiments import draw
from warmstart.jobs import job
from warmstart.plotting import STYLE, save
from warmstart.tables import read

with job(snakemake.log[0]):
    p = snakemake.params
    tables = {name: read(path) for name, path in snakemake.input.items()}
    with plt.style.context(STYLE):
        fig = draw(p.experiment, snakemake.wildcards.figure, tables, p.settings)
        save(fig, snakemake.output.png, snakemake.output.pdf)
