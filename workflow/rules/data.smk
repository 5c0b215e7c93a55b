rule prepare_data:
    output:
        "results/data/{dataset}/data.pt",
    params:
        settings=dataset_params,
    log:
        "results/logs/prepare_data/{dataset}.log",
    conda:
        ENV
    script:
        "../scripts/prepare_data.py"


rule subset:
    input:
        "results/data/{dataset}/data.pt",
    output:
        "results/data/{dataset}/subsets/fraction~{fraction}.pt",
    params:
        seed=config["dataset"]["subset_seed"],
    log:
        "results/logs/subset/{dataset}/fraction~{fraction}.log",
    conda:
        ENV
    script:
        "../scripts/subset.py"
