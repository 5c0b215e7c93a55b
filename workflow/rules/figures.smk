rule figure:
    input:
        unpack(figure_tables),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=lambda w: experiments.title(FIGURES[w.figure][0]),
            labels=lambda w: {"figure": w.figure},
        ),
        pdf="results/figures/{figure}.pdf",
    log:
        "results/logs/figures/{figure}.log",
    localrule: True
    conda:
        ENV
    params:
        code=figure_code,
        experiment=lambda w: FIGURES[w.figure][0],
        settings=lambda w: SETTINGS.get(FIGURES[w.figure][0], {}),
        caption=lambda w: FIGURES[w.figure][1].caption,
    script:
        "../scripts/figure.py"
