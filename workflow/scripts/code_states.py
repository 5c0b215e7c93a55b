import json
from collections import Counter

import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.provenance import published_code

with job(snakemake.log[0]):
    runs = pd.read_csv(snakemake.input.runs).run
    prov = [json.loads(open(f"results/runs/{r}/provenance.json").read()) for r in runs]
    commits = Counter(p["git_commit"] for p in prov)
    published_code(commits, snakemake.params.mixed_code)  # one clean commit, or refused in one line (nothing written)
    record = {
        "runs": len(prov),
        "commits": dict(commits.most_common()),
        "devices": dict(Counter(p["device"] for p in prov).most_common()),
        "train_seconds": sum({p["shard"]["name"]: p["seconds"]["train_shard"] for p in prov}.values()),  # once per shard
    }
    atomic_write_text(json.dumps(record, indent=2), snakemake.output[0])
