import torch

from warmstart.atomic import atomic_save
from warmstart.data import subset_indices
from warmstart.jobs import job

with job(snakemake.log[0]):
    y = torch.load(snakemake.input[0], weights_only=True)["y_train"]
    atomic_save(subset_indices(snakemake.wildcards.subset, y, snakemake.params.seed), snakemake.output[0])
