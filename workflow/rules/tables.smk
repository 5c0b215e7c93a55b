rule tables:
    input:
        metrics=expand("results/runs/{run}/metrics.csv", run=sorted(RUNS)),
        provenance=expand("results/runs/{run}/provenance.json", run=sorted(RUNS)),
    output:
        final="results/tables/final.csv",
        metrics="results/tables/metrics.csv",
        runs="results/tables/runs.csv",
        timing="results/tables/timing.csv",
    log:
        "results/logs/tables.log",
    localrule: True
    conda:
        ENV
    params:
        code=code_version(tables_module),
        rows=TABLE.rows,
        runs=[RUNS[r] for r in sorted(RUNS)],
        drawn=sorted(TABLE.drawn),  # runs a figure draws: evaluated at every epoch (checked)
    script:
        "../scripts/tables.py"


rule gap:
    input:
        **({"diagnostics": "results/tables/diagnostics.csv"} if DIAGNOSE else {}),
        final="results/tables/final.csv",
        runs="results/tables/runs.csv",  # the protocol hash each run was trained under
    output:
        gap="results/tables/gap.csv",
        contrasts="results/tables/contrasts.csv",
    log:
        "results/logs/gap.log",
    localrule: True
    conda:
        ENV
    params:
        # the experiments' declared contrasts and the rules that judge them, by content
        code=code_version(experiments, tables_module),
        experiments=SETTINGS,
        protocol=config["protocol"],
        stamp=experiments.stamp(config),  # checked against every run's
    script:
        "../scripts/gap.py"


rule table:
    input:
        gap="results/tables/gap.csv",
    output:
        "results/tables/{table}",
    log:
        "results/logs/table/{table}.log",
    wildcard_constraints:
        table="|".join(map(re.escape, TABLES)) or "(?!)",
    localrule: True
    conda:
        ENV
    params:
        experiment=lambda w: TABLES[w.table],
        code=lambda w: code_version(experiments.module(TABLES[w.table])),
    script:
        "../scripts/table.py"


rule summary:
    input:
        **({"diagnostics": "results/tables/diagnostics.csv"} if DIAGNOSE else {}),
        # a confirmation study: the original study's contrasts, to say which are confirmed
        **(
            {"original": config["confirm"]["original"]}
            if config["confirm"]["original"]
            else {}
        ),
        final="results/tables/final.csv",
        timing="results/tables/timing.csv",
        gap="results/tables/gap.csv",
        contrasts="results/tables/contrasts.csv",
    output:
        report(
            "results/summary.md", caption="../report/summary.rst", category="Summary"
        ),
    log:
        "results/logs/summary.log",
    localrule: True
    conda:
        ENV
    params:
        code=code_version(experiments, summary_module),
        experiments=SETTINGS,
        protocol=config["protocol"],
        stamp=experiments.stamp(config),
        setting=setting_description(),
    script:
        "../scripts/summary.py"


# not part of `all`: `snakemake docs` copies a finished study's summary and headline figures into
# docs/, the numbers the README shows, with the commit and machine that produced them; which code
# trained the runs is checked by a rule of its own, so that a refusal leaves the published docs/ as
# they are (Snakemake removes a job's old outputs before it runs)
rule code_states:
    input:
        runs="results/tables/runs.csv",
        provenance=expand("results/runs/{run}/provenance.json", run=sorted(RUNS)),
    output:
        "results/tables/code_states.json",
    log:
        "results/logs/code_states.log",
    localrule: True
    conda:
        ENV
    params:
        mixed_code=config["docs_mixed_code"],
    script:
        "../scripts/code_states.py"


rule docs:
    input:
        summary="results/summary.md",
        code="results/tables/code_states.json",
        figures=expand("results/figures/{figure}.png", figure=DOC_FIGURES),
    output:
        measured="docs/measured.md",
        figures=expand("docs/{figure}.png", figure=DOC_FIGURES),
    log:
        "results/logs/docs.log",
    localrule: True
    conda:
        ENV
    script:
        "../scripts/docs.py"
