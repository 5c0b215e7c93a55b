from warmstart import data
from warmstart.jobs import job

with job(snakemake.log[0]):
    data.save(data.prepare(snakemake.wildcards.dataset, **snakemake.params.settings), snakemake.output[0])
