"""Copy a finished confirmation study's verdict table and primary contrasts into docs/confirmation.md,
with the commits that trained it (the confirmation counterpart of `snakemake docs`).

    python tools/confirmation_doc.py [confirm] [--note "..."]
"""

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from warmstart.verdicts import describe

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?", default="confirm")
    parser.add_argument("--note", default="", help="a sentence on how it was run (machine, time)")
    args = parser.parse_args()
    results = ROOT / args.directory / "results"
    runs = pd.read_csv(results / "tables/runs.csv").run
    prov = [json.loads((results / f"runs/{r}/provenance.json").read_text()) for r in runs]
    commits = Counter(p["git_commit"] for p in prov)
    seeds = sorted({p["run"]["init_seed"] for p in prov})
    summary = (results / "summary.md").read_text()
    head = (
        f"<!-- written by tools/confirmation_doc.py from {args.directory}/results/: do not edit by hand -->\n"
        f"*{len(prov)} training runs, seeds {seeds[0]}-{seeds[-1]}, trained by "
        + ", ".join(f"`{k}` ({n} runs)" for k, n in commits.most_common())
        + f". {args.note} The original study is `docs/measured.md`.*\n\n"
    )
    body = ["", "### The confirmation study's primary contrasts", ""]
    for (exp, claim), rows in pd.read_csv(results / "tables/contrasts.csv").groupby(["experiment", "claim"], sort=False):
        body += [f"**{exp} / {claim.replace('_', ' ')}**", ""] + [f"- {describe(r)}" for r in rows.itertuples()] + [""]
    (ROOT / "docs/confirmation.md").write_text(head + summary[summary.index("## Confirmation") :].strip() + "\n" + "\n".join(body))
