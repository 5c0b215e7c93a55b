import torch

from warmstart.atomic import atomic_save
from warmstart.data import nested_subsets
from warmstart.jobs import job

with job(snakemake.log[0]):
    n = len(torch.load(snakemake.input[0], weights_only=True)["y_train"])
    fraction = float(snakemake.wildcards.fraction)
    atomic_save(nested_subsets(n, [fraction], snakemake.params.seed)[fraction], snakemake.output[0])
