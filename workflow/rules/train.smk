rule train:
    input:
        unpack(shard_inputs),
    output:
        temp(directory("results/shards/{shard}")),
    log:
        "results/logs/train/{shard}.log",
    conda:
        ENV
    threads: config["train"]["threads"]
    resources:
        gpu=GPUS,
    params:
        specs=lambda w: [RUNS[r] for r in shards.members(w.shard)],
        resume_dir=lambda w: f"results/resume/{w.shard}",
        device=config["train"]["device"],
        checkpoint_every=config["train"]["checkpoint_every"],
        channels_last=config["train"]["channels_last"],
        compile=config["train"]["compile"],
    script:
        "../scripts/train.py"


rule run:
    input:
        lambda w: f"results/shards/{staged_shard(w)}",
    output:
        model="results/runs/{run}/model.pt",
        metrics="results/runs/{run}/metrics.csv",
        provenance="results/runs/{run}/provenance.json",
    localrule: True
    params:
        identity=lambda w: run_table.identity(run_spec(w)),
        staged=lambda w: f"results/shards/{staged_shard(w)}/seed~{shards.split(w.run)[1]}",
    run:
        shards.link_outputs(params.staged, list(output))
