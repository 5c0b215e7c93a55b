from pathlib import Path

import torch

from warmstart.jobs import job
from warmstart.run import execute

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    inputs = dict(snakemake.input.items())
    execute(
        snakemake.params.spec,
        data=inputs.pop("data"),
        parent=inputs.pop("parent", None),
        subsets=inputs,
        outdir=Path(snakemake.output.model).parent,
        device=snakemake.params.device,
        checkpoint_every=snakemake.params.checkpoint_every,
    )
