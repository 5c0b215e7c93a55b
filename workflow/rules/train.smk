rule train:
    input:
        unpack(train_inputs),
    output:
        model="results/runs/{run}/model.pt",
        metrics="results/runs/{run}/metrics.csv",
        provenance="results/runs/{run}/provenance.json",
    log:
        "results/logs/train/{run}.log",
    conda:
        ENV
    threads: config["train"]["threads"]
    resources:
        gpu=GPUS,
    params:
        spec=run_spec,
        device=config["train"]["device"],
        checkpoint_every=config["train"]["checkpoint_every"],
    script:
        "../scripts/train.py"
