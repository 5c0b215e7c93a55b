rule fig_fraction_curves:
    input:
        metrics="results/tables/metrics.csv",
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/fraction_curves.png",
            caption="../report/fraction_curves.rst",
            category="Gap vs pretraining fraction",
        ),
        pdf="results/figures/fraction_curves.pdf",
    log:
        "results/logs/figures/fraction_curves.log",
    conda:
        ENV
    params:
        condition=f"fraction={config['experiments'].get('fraction', {}).get('curves_fraction', 0.5):g}",
        window=config["train"]["final_window"],
    script:
        "../scripts/fig_fraction_curves.py"


rule fig_fraction:
    input:
        final="results/tables/final.csv",
        gap="results/tables/gap.csv",
    output:
        png=report(
            "results/figures/fraction.png",
            caption="../report/fraction.rst",
            category="Gap vs pretraining fraction",
        ),
        pdf="results/figures/fraction.pdf",
    log:
        "results/logs/figures/fraction.log",
    conda:
        ENV
    script:
        "../scripts/fig_fraction.py"
