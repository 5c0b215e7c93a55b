import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.tables import table1, table1_latex, table1_markdown

with job(snakemake.log[0]):
    t = table1(pd.read_csv(snakemake.input.gap))
    atomic_write_text(table1_markdown(t), snakemake.output.md)
    atomic_write_text(table1_latex(t), snakemake.output.tex)
