from pathlib import Path

import torch

from warmstart.execute import execute
from warmstart.experiments import stamp
from warmstart.jobs import job
from warmstart.names import seed_dir
from warmstart.runs import from_identity

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    inputs = dict(snakemake.input.items())
    specs = [from_identity(r) for r in snakemake.params.runs]
    speed = snakemake.config["train"]  # settings that change speed, not results: deliberately not params
    execute(
        specs,
        data=inputs.pop("data"),
        parents=inputs.pop("parents", None),
        subsets=inputs,
        outdirs=[Path(snakemake.output[0]) / seed_dir(s["id"]) for s in specs],
        resume_dir=snakemake.params.resume_dir,
        device=speed["device"],
        checkpoint_every=speed["checkpoint_every"],
        channels_last=speed["channels_last"],
        compile=speed["compile"],
        shard=snakemake.wildcards.shard,
        curves=snakemake.params.curves,
        protocol=stamp(snakemake.config),  # recorded in provenance; the runs' own rule is in their identity
    )
