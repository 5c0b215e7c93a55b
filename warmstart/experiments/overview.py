"""The figure that opens the summary: every primary contrast of the study side by side.

Each contrast in accuracy (points) is drawn with its estimate and interval (95% for an effect, 90%
for an equivalence: the one its TOST decides on), oriented as the
experiment declared it, so that the paper's claim points right of 0 for a claimed effect; an
equivalence is drawn with its margin as a band around 0; the colour is the contrast's status
(``contrasts.csv``). Contrasts in other units (epochs, diagnostics) are left to their experiment's
figure; built-in identity checks are no contrasts of a claim and are left out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from warmstart.experiments.base import Figure

TITLE = "Primary contrasts"
STATUS_COLORS = {"supported": "#1b7837", "against": "#b2182b", "inconclusive": "#7f7f7f", "not converged": "#e08214"}


def primary(tables: dict[str, pd.DataFrame], cfg: dict) -> plt.Figure:
    """Every primary contrast in accuracy, estimate and interval (at its ``ci_level``), one row
    each, grouped by experiment; x > 0 is the claimed direction of an effect, the band is an
    equivalence's margin."""
    c = tables["contrasts"]
    c = c[(c.unit == "accuracy") & (c.kind != "check")].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(c) + 1.2))
    y = np.arange(len(c))[::-1]
    for yi, r in zip(y, c.itertuples()):
        color = STATUS_COLORS.get(r.status, "k")
        ax.errorbar(100 * r.estimate, yi, xerr=[[100 * (r.estimate - r.ci_low)], [100 * (r.ci_high - r.estimate)]], fmt="o",
                    color=color, capsize=2, ms=4)  # fmt: skip
        if r.kind == "equivalence":
            ax.fill_betweenx([yi - 0.4, yi + 0.4], -100 * r.margin, 100 * r.margin, color="k", alpha=0.1, lw=0)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [f"{r.experiment}: {r.contrast}" for r in c.itertuples()], fontsize=7)
    ax.set_xlabel("points of test accuracy (claimed effect > 0; grey band: an equivalence's margin)")
    for status, color in STATUS_COLORS.items():
        ax.plot([], [], "o", color=color, label=status)
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Every primary contrast: estimate, 95% interval (equivalences: 90%); Holm applies to the verdicts")
    return fig


FIGURES = {
    "primary": Figure(
        primary,
        ("contrasts",),
        "Every primary contrast of the study in points of test accuracy, with its interval over seeds (95% for an effect, 90% "
        "for an equivalence, the one its TOST decides on), oriented so that "
        "the paper's claimed effect lies right of 0; grey bands are the margins of claimed equivalences; colours give each "
        "contrast's status after Holm's correction (results/tables/contrasts.csv).",
        readme=True,
    )
}
