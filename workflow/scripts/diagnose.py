import pandas as pd
import torch

from warmstart.atomic import atomic_write_text
from warmstart.diagnosis import diagnose
from warmstart.jobs import job
from warmstart.runs import from_identity

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    rows = diagnose(
        from_identity(p.spec),
        snakemake.input.data,
        snakemake.input.model,
        snakemake.input.seen,
        p.settings,
        p.epochs,
        p.noise_epochs,
        snakemake.config["train"]["device"],
    )
    atomic_write_text(pd.DataFrame(rows).to_csv(index=False), snakemake.output[0])
