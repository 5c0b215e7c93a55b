from warmstart.atomic import atomic_write_text
from warmstart.experiments import MODULES
from warmstart.jobs import job
from warmstart.tables import read

with job(snakemake.log[0]):
    write = MODULES[snakemake.params.experiment].TABLES[snakemake.wildcards.table]
    atomic_write_text(write(read(snakemake.input.gap)), snakemake.output[0])
