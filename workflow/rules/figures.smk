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
        condition=f"fraction={EXPERIMENTS.get('fraction', {}).get('curves_fraction', 0.5):g}",
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


rule fig_pretrain_length:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/pretrain_length.png",
            caption="../report/pretrain_length.rst",
            category="Optimiser and pretraining length",
        ),
        pdf="results/figures/pretrain_length.pdf",
    log:
        "results/logs/figures/pretrain_length.log",
    conda:
        ENV
    script:
        "../scripts/fig_pretrain_length.py"


rule fig_smooth_shift:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/smooth_shift.png",
            caption="../report/smooth_shift.rst",
            category="Smooth shift",
        ),
        pdf="results/figures/smooth_shift.pdf",
    log:
        "results/logs/figures/smooth_shift.log",
    conda:
        ENV
    script:
        "../scripts/fig_smooth_shift.py"


rule fig_stages:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/stages.png",
            caption="../report/stages.rst",
            category="Stages and class imbalance",
        ),
        pdf="results/figures/stages.pdf",
    log:
        "results/logs/figures/stages.log",
    conda:
        ENV
    script:
        "../scripts/fig_stages.py"


rule fig_width_depth:
    input:
        gap="results/tables/gap.csv",
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/width_depth.png",
            caption="../report/width_depth.rst",
            category="Width and depth",
        ),
        pdf="results/figures/width_depth.pdf",
    log:
        "results/logs/figures/width_depth.log",
    conda:
        ENV
    script:
        "../scripts/fig_width_depth.py"


rule fig_reset:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/reset.png",
            caption="../report/reset.rst",
            category="Resetting units",
        ),
        pdf="results/figures/reset.pdf",
    log:
        "results/logs/figures/reset.log",
    conda:
        ENV
    script:
        "../scripts/fig_reset.py"


rule fig_speed:
    input:
        metrics="results/tables/metrics.csv",
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/speed.png",
            caption="../report/speed.rst",
            category="Tuning speed",
        ),
        pdf="results/figures/speed.pdf",
    log:
        "results/logs/figures/speed.log",
    conda:
        ENV
    params:
        threshold=config["experiments"].get("speed", {}).get("threshold"),
    script:
        "../scripts/fig_speed.py"


rule fig_tune_lr:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/tune_lr.png",
            caption="../report/tune_lr.rst",
            category="Tuning learning rate",
        ),
        pdf="results/figures/tune_lr.pdf",
    log:
        "results/logs/figures/tune_lr.log",
    conda:
        ENV
    script:
        "../scripts/fig_tune_lr.py"


rule fig_shrink_perturb:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/shrink_perturb.png",
            caption="../report/shrink_perturb.rst",
            category="Shrink and perturb",
        ),
        pdf="results/figures/shrink_perturb.pdf",
    log:
        "results/logs/figures/shrink_perturb.log",
    conda:
        ENV
    script:
        "../scripts/fig_shrink_perturb.py"


rule fig_table1:
    input:
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/table1.png",
            caption="../report/table1.rst",
            category="Ash and Adams Table 1",
        ),
        pdf="results/figures/table1.pdf",
    log:
        "results/logs/figures/table1.log",
    conda:
        ENV
    script:
        "../scripts/fig_table1.py"


rule fig_diagnostics:
    input:
        "results/tables/diagnostics.csv",
    output:
        png=report(
            "results/figures/diagnostics_{family}.png",
            caption="../report/diagnostics.rst",
            category="Diagnostics",
        ),
        pdf="results/figures/diagnostics_{family}.pdf",
    log:
        "results/logs/figures/diagnostics_{family}.log",
    conda:
        ENV
    params:
        quantities=lambda w: DIAGNOSTIC_FAMILIES[w.family],
    script:
        "../scripts/fig_diagnostics.py"


rule fig_hypothesis:
    input:
        diagnostics="results/tables/diagnostics.csv",
        final="results/tables/final.csv",
    output:
        png=report(
            "results/figures/hypothesis.png",
            caption="../report/hypothesis.rst",
            category="Diagnostics",
        ),
        pdf="results/figures/hypothesis.pdf",
    log:
        "results/logs/figures/hypothesis.log",
    conda:
        ENV
    script:
        "../scripts/fig_hypothesis.py"
