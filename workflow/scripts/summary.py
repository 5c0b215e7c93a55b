from warmstart.atomic import atomic_write_text
from warmstart.experiments import claims_all, notes_all
from warmstart.jobs import job
from warmstart.summary import confirmation, summary
from warmstart.tables import read

with job(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    tables = {name: read(i[name]) for name in ("final", "timing", "diagnostics") if name in i.keys()}
    gap, contrasts = read(i.gap), read(i.contrasts)
    text = summary(
        gap, tables["final"], contrasts, notes_all(tables, p.experiments), p.setting, p.protocol, claims_all(p.experiments), p.stamp
    )
    if "original" in i.keys():
        text += confirmation(read(i.original), contrasts)
    atomic_write_text(text, snakemake.output[0])
