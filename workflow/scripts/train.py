from pathlib import Path

import torch

from warmstart.jobs import job
from warmstart.run import execute

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    execute(
        snakemake.params.spec,
        data=snakemake.input.data,
        subset=snakemake.input.get("subset"),
        parent=snakemake.input.get("parent"),
        outdir=Path(snakemake.output.model).parent,
        device=snakemake.params.device,
        checkpoint_every=snakemake.params.checkpoint_every,
    )
