rule diagnose:
    input:
        models=lambda w: [f"results/runs/{r}/model.pt" for r in batch_runs(w)],
        data=lambda w: f"results/data/{batch_dataset(w)}/data.pt",
        seen=lambda w: sorted({seen_file(w, r) for r in batch_runs(w)}),
    output:
        "results/diagnostics/{batch}.csv",
    log:
        "results/logs/diagnose/{batch}.log",
    conda:
        ENV
    threads: config["train"]["threads"]
    resources:
        gpu=GPUS,
    params:
        runs=lambda w: [
            {
                "spec": run_table.identity(RUNS[r]),
                "seen": seen_file(w, r),
                "epochs": DIAGNOSE[r]["epochs"],
                "noise_epochs": DIAGNOSE[r]["noise_epochs"],
            }
            for r in batch_runs(w)
        ],
        settings=diagnosis.measurement_settings(config),
    script:
        "../scripts/diagnose.py"


rule diagnostics_table:
    input:
        expand("results/diagnostics/{batch}.csv", batch=DIAGNOSE_BATCHES),
    output:
        "results/tables/diagnostics.csv",
    log:
        "results/logs/diagnostics_table.log",
    localrule: True
    conda:
        ENV
    params:
        code=code_version(tables_module),
        targets=TABLE.diagnose,
    script:
        "../scripts/diagnostics_table.py"
