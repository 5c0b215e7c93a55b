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
    script:
        "../scripts/tables.py"


rule summary:
    input:
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
        headlines={
            "fraction": f"fraction={config['experiments'].get('fraction', {}).get('curves_fraction', 0.5):g}"
        },
        setting=(
            f"{config['dataset']['name']}, {config['model']['name']} (width {config['model']['width']}, depth {config['model']['depth']}), "
            f"{config['train']['optimizer']} lr {config['train']['lr']:g}, batch {config['train']['batch_size']}, "
            f"{config['train']['pretrain_epochs']} pretraining + {config['train']['tune_epochs']} tuning epochs, "
            f"final accuracy = mean of the last {config['train']['final_window']} epochs"
        ),
    script:
        "../scripts/summary.py"
