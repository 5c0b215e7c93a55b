from pathlib import Path

import torch

from warmstart.execute import execute
from warmstart.experiments import build, stamp
from warmstart.jobs import job
from warmstart.names import seed_dir
from warmstart.runs import from_identity

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    inputs = dict(snakemake.input.items())
    specs = [from_identity(r) for r in snakemake.params.runs]
    drawn = build(snakemake.config).drawn  # the runs a figure draws (built once: 0.3 s on the default)
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
        # the runs a figure draws are evaluated at every epoch, the others where they can be read: the read-out is the same
        # (not a param, which would retrain a run when a figure stops drawing it; the tables check a drawn run has its curves)
        curves=[s["id"] in drawn for s in specs],
        protocol=stamp(snakemake.config),  # recorded in provenance; the runs' own rule is in their identity
    )
