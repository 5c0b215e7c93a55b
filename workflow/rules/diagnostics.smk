rule diagnose:
    input:
        model="results/runs/{run}/model.pt",
        data=lambda w: f"results/data/{run_spec(w)['dataset']}/data.pt",
        seen=lambda w: f"results/data/{run_spec(w)['dataset']}/subsets/{DIAGNOSE[w.run]['seen']}.pt",
    output:
        "results/diagnostics/{run}.csv",
    log:
        "results/logs/diagnose/{run}.log",
    conda:
        ENV
    threads: config["train"]["threads"]
    resources:
        gpu=GPUS,
    params:
        spec=lambda w: run_table.identity(run_spec(w)),
        epochs=lambda w: DIAGNOSE[w.run]["epochs"],
        noise_epochs=lambda w: DIAGNOSE[w.run]["noise_epochs"],
        settings={
            k: v
            for k, v in config.get("diagnostics", {}).items()
            if k not in ("enabled", "epochs", "noise_epochs")
        },
    script:
        "../scripts/diagnose.py"


rule diagnostics_table:
    input:
        expand("results/diagnostics/{run}.csv", run=sorted(DIAGNOSE)),
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
