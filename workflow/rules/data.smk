rule prepare_data:
    output:
        "results/data/{dataset}/data.pt",
    log:
        "results/logs/prepare_data/{dataset}.log",
    priority: UNBLOCK
    conda:
        ENV
    params:
        settings=dataset_params,
    script:
        "../scripts/prepare_data.py"


rule subset:
    input:
        "results/data/{dataset}/data.pt",
    output:
        "results/data/{dataset}/subsets/{subset}.pt",
    log:
        "results/logs/subset/{dataset}/{subset}.log",
    priority: UNBLOCK
    conda:
        ENV
    params:
        seed=config["dataset"]["subset_seed"],
    script:
        "../scripts/subset.py"
