import pandas as pd
import torch

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.run import diagnose
from warmstart.runs import FIELD_DEFAULTS

with job(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    rows = diagnose(FIELD_DEFAULTS | p.spec, snakemake.input.data, snakemake.input.model, p.settings, p.epochs, p.noise_epochs, p.device)
    atomic_write_text(pd.DataFrame(rows).to_csv(index=False), snakemake.output[0])
