from pathlib import Path

import torch

from warmstart.jobs import job
from warmstart.run import execute
from warmstart.shards import split

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    inputs = dict(snakemake.input.items())
    specs = snakemake.params.specs
    execute(
        specs,
        data=inputs.pop("data"),
        parents=inputs.pop("parents", None),
        subsets=inputs,
        outdirs=[Path(snakemake.output[0]) / f"seed~{split(s['id'])[1]}" for s in specs],
        resume_dir=snakemake.params.resume_dir,
        device=snakemake.params.device,
        checkpoint_every=snakemake.params.checkpoint_every,
        channels_last=snakemake.params.channels_last,
        compile=snakemake.params.compile,
        shard=snakemake.wildcards.shard,
    )
