import json
import shutil

from warmstart.atomic import atomic_write_text
from warmstart.jobs import job
from warmstart.provenance import git_commit

with job(snakemake.log[0]):
    code = json.loads(open(snakemake.input.code).read())  # checked by the code_states job: one clean commit, or allowed

    def counted(c):
        return ", ".join(f"`{k}` ({n} runs)" for k, n in c.items())

    header = (
        "<!-- written by `snakemake docs` from results/: do not edit by hand -->\n"
        f"*Generated from `results/` by `snakemake docs`. {code['runs']} training runs, trained by {counted(code['commits'])} "
        f"on {counted(code['devices'])}, {code['train_seconds'] / 60:.0f} min of training (summed over training jobs); "
        f"tables and verdicts written by `{git_commit(ignore='docs')}`. "
        "Numbers vary between machines within their intervals (a different rounding is a different draw).*\n\n"
    )
    body = open(snakemake.input.summary).read().replace("](figures/", "](")  # the figures sit beside it in docs/
    atomic_write_text(header + body, snakemake.output.measured)
    for src, dst in zip(snakemake.input.figures, snakemake.output.figures):
        shutil.copyfile(src, dst)
