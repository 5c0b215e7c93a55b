# The warm-start generalisation gap (Ash & Adams 2020; Berariu et al. 2021), end to end.
# Stages live in workflow/rules/, one file each; the library is the `warmstart` package.
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# the repository's, wherever the study runs (--directory): a --configfile is merged over it
configfile: Path(workflow.basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/diagnostics.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        targets(),
    localrule: True
