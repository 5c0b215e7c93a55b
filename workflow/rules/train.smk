rule train:
    input:
        unpack(shard_inputs),
    output:
        temp(directory("results/shards/{shard}")),
    log:
        "results/logs/train/{shard}.log",
    priority: lambda w: PRIORITY[w.shard]
    conda:
        ENV
    threads: config["train"]["threads"]
    resources:
        gpu=GPUS,
    params:
        # what the runs' results depend on, and nothing else: the speed settings (device,
        # checkpoint_every, channels_last, compile) are read from the config by the script, so
        # that changing them retrains nothing
        runs=lambda w: [run_table.identity(RUNS[r]) for r in shard_runs(w)],
        resume_dir=lambda w: f"results/resume/{w.shard}",
    script:
        "../scripts/train.py"


rule run:
    input:
        lambda w: f"results/shards/{SHARD_OF[w.run]}",
    output:
        model="results/runs/{run}/model.pt",
        metrics="results/runs/{run}/metrics.csv",
        provenance="results/runs/{run}/provenance.json",
    log:
        "results/logs/run/{run}.log",
    priority: UNBLOCK
    localrule: True
    conda:
        ENV
    params:
        identity=lambda w: run_table.identity(run_spec(w)),
        staged=lambda w: f"results/shards/{SHARD_OF[w.run]}/{names.seed_dir(w.run)}",
    # a shell job, not a `run:` block: Snakemake runs those in a fresh Python process (2.5 s each);
    # a hard link where the file system allows, else a copy
    shell:
        "for f in model.pt metrics.csv provenance.json; do"
        " ln -f {params.staged:q}/$f results/runs/{wildcards.run:q}/$f 2>/dev/null"
        " || cp {params.staged:q}/$f results/runs/{wildcards.run:q}/$f; done 2> {log:q}; touch {output:q}"
