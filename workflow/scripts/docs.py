import json
import shutil
from collections import Counter

import pandas as pd

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.provenance import git_commit, published_code

with job(snakemake.log[0]):
    runs = pd.read_csv(snakemake.input.runs).run
    prov = [json.loads(open(f"results/runs/{r}/provenance.json").read()) for r in runs]
    commits = Counter(p["git_commit"] for p in prov)
    published_code(commits, snakemake.params.mixed_code)  # one clean commit, or refused in one line
    devices = Counter(p["device"] for p in prov)
    seconds = sum({p["shard"]["name"]: p["seconds"]["train_shard"] for p in prov}.values())  # once per shard

    def counted(c):
        return ", ".join(f"`{k}` ({n} runs)" for k, n in c.most_common())

    header = (
        "<!-- written by `snakemake docs` from results/: do not edit by hand -->\n"
        f"*Generated from `results/` by `snakemake docs`. {len(prov)} training runs, trained by {counted(commits)} "
        f"on {counted(devices)}, {seconds / 60:.0f} min of training (summed over training jobs); "
        f"tables and verdicts written by `{git_commit(ignore='docs')}`. "
        "Numbers vary between machines within their intervals (a different rounding is a different draw).*\n\n"
    )
    body = open(snakemake.input.summary).read().replace("](figures/", "](")  # the figures sit beside it in docs/
    atomic_write_text(header + body, snakemake.output.measured)
    for src, dst in zip(snakemake.input.figures, snakemake.output.figures):
        shutil.copyfile(src, dst)
