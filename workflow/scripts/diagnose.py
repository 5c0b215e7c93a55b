import pandas as pd
import torch

from warmstart.atomic import atomic_write_text
from warmstart.diagnosis import diagnose_batch
from warmstart.jobs import job
from warmstart.runs import from_identity

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    jobs = [{**r, "spec": from_identity(r["spec"]), "model": model} for r, model in zip(p.runs, snakemake.input.models, strict=True)]
    rows = diagnose_batch(jobs, snakemake.input.data, p.settings, snakemake.config["train"]["device"])
    atomic_write_text(pd.DataFrame(rows).to_csv(index=False), snakemake.output[0])
