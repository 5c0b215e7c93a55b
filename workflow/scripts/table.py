from warmstart.atomic import atomic_write_text
from warmstart.experiments import table_writer
from warmstart.jobs import job
from warmstart.tables import read

with job(snakemake.log[0]):
    write = table_writer(snakemake.params.experiment, snakemake.wildcards.table)
    atomic_write_text(write(read(snakemake.input.gap)), snakemake.output[0])
