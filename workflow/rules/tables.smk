rule tables:
    input:
        expand("results/runs/{run}/metrics.csv", run=sorted(RUNS)),
    output:
        final="results/tables/final.csv",
        gap="results/tables/gap.csv",
        metrics="results/tables/metrics.csv",
        runs="results/tables/runs.csv",
    log:
        "results/logs/tables.log",
    conda:
        ENV
    params:
        rows=TABLE.rows,
        runs=[RUNS[r] for r in sorted(RUNS)],
        window=config["train"]["final_window"],
        converged_at=config["train"]["converged_train_acc"],
        thresholds={
            name: EXPERIMENTS[name]["threshold"]
            for name in ("speed", "shrink_perturb")
            if name in EXPERIMENTS
        },
    script:
        "../scripts/tables.py"


rule table1:
    input:
        final="results/tables/final.csv",
        gap="results/tables/gap.csv",
    output:
        md="results/tables/table1.md",
        tex="results/tables/table1.tex",
    log:
        "results/logs/table1.log",
    conda:
        ENV
    script:
        "../scripts/table1.py"


rule summary:
    input:
        **({"diagnostics": "results/tables/diagnostics.csv"} if DIAGNOSE else {}),
        final="results/tables/final.csv",
        gap="results/tables/gap.csv",
    output:
        report(
            "results/summary.md", caption="../report/summary.rst", category="Summary"
        ),
    log:
        "results/logs/summary.log",
    conda:
        ENV
    params:
        experiments=EXPERIMENTS,
        setting=setting_description(),
    script:
        "../scripts/summary.py"
