"""Figures of the study: one function per figure, taking tables, returning a matplotlib figure.

The style is shared (``STYLE``, ``COLORS``); arms keep one colour across every figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from warmstart.stats import mean_ci  # noqa: E402

STYLE = {
    "figure.dpi": 150,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,  # panels never overlap their neighbours' labels
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}
COLORS = {"fresh": "#1b7837", "warm": "#b2182b", "pretrain": "#7f7f7f"}
CYCLE = ["#2166ac", "#b2182b", "#e08214", "#542788", "#1b7837", "#7f7f7f"]


def save(fig: plt.Figure, png: str | Path, pdf: str | Path) -> None:
    """Write ``fig`` as PNG and PDF, cropped to what is drawn (tick labels included: ``STYLE``'s
    ``savefig.bbox`` no longer applies once its context has closed), then close it."""
    for path in (png, pdf):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def _band(ax, curves: pd.DataFrame, x_offset: int, color: str, label: str | None) -> None:
    """Mean and 95% interval over seeds of ``curves`` (index epoch, one column per seed)."""
    stats = np.array([mean_ci(row) for row in curves.to_numpy()])
    x = curves.index.to_numpy() + x_offset
    ax.plot(x, stats[:, 0], color=color, lw=1.2, label=label)
    if curves.shape[1] > 1:
        ax.fill_between(x, stats[:, 1], stats[:, 2], color=color, alpha=0.2, lw=0)


def learning_curves(metrics: pd.DataFrame, final: pd.DataFrame, condition: str, window: int) -> plt.Figure:
    """Train and test accuracy against epoch for one condition of the ``fraction`` experiment:
    pretraining (negative epochs) then warm tuning, and fresh tuning from the same initialisation;
    the final-accuracy window shaded."""
    rows = final[(final.experiment == "fraction") & (final.condition == condition)]
    warm, fresh = rows[rows.arm == "warm"], rows[rows.arm == "fresh"]

    def curves(runs: pd.Series, split: str) -> pd.DataFrame:
        m = metrics[metrics.run.isin(runs) & (metrics.split == split)]
        return m.pivot(index="epoch", columns="run", values="acc")[list(runs)]

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        for ax, split in zip(axes, ("train", "test")):
            pre = curves(warm.parent, split)
            tune_end = int(fresh.epochs.max())
            _band(ax, pre, -int(pre.index.max()), COLORS["pretrain"], f"pretraining ({condition})")
            _band(ax, curves(warm.run, split), 0, COLORS["warm"], "warm tuning (full set)")
            _band(ax, curves(fresh.run, split), 0, COLORS["fresh"], "fresh (full set)")
            ax.axvspan(tune_end - window, tune_end, color="k", alpha=0.08, lw=0, label=f"final window ({window} epochs)")
            ax.axvline(0, color="k", lw=0.6, ls=":")
            ax.set(title=f"{split} accuracy", xlabel="epoch (pretraining < 0 < tuning)")
        axes[0].set_ylabel("accuracy")
        axes[1].legend(loc="lower right", fontsize=7)
        fig.suptitle(f"Warm vs fresh start, pretraining on {condition} (mean and 95% CI over {len(fresh)} seeds)")
    return fig


def fraction_figure(final: pd.DataFrame, gap: pd.DataFrame) -> plt.Figure:
    """Final test accuracy (warm per fraction, fresh as a band) and the paired gap, against the
    pretraining fraction, each with its 95% interval over seeds."""
    f = final[final.experiment == "fraction"]
    g = gap[gap.experiment == "fraction"].assign(fraction=lambda d: d.condition.str.split("=").str[1].astype(float)).sort_values("fraction")
    with plt.rc_context(STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
        warm = np.array([mean_ci(x.final_test_acc) for _, x in f[f.arm == "warm"].groupby("fraction")])
        fr = sorted(f[f.arm == "warm"].fraction.unique())
        fresh = mean_ci(f[f.arm == "fresh"].drop_duplicates("run").final_test_acc)
        a.axhspan(fresh[1], fresh[2], color=COLORS["fresh"], alpha=0.2, lw=0)
        a.axhline(fresh[0], color=COLORS["fresh"], lw=1.2, label="fresh (full set)")
        a.errorbar(
            fr,
            warm[:, 0],
            yerr=[warm[:, 0] - warm[:, 1], warm[:, 2] - warm[:, 0]],
            color=COLORS["warm"],
            marker="o",
            capsize=3,
            label="warm start",
        )
        a.set(title="final test accuracy", xlabel="pretraining fraction of the training set", ylabel="test accuracy")
        a.legend()
        b.axhline(0, color="k", lw=0.8)
        b.errorbar(g.fraction, g.gap_mean, yerr=[g.gap_mean - g.gap_ci_low, g.gap_ci_high - g.gap_mean], color="k", marker="o", capsize=3)
        b.set(
            title="generalisation gap (fresh - warm, paired)",
            xlabel="pretraining fraction of the training set",
            ylabel="gap in test accuracy",
        )
        fig.suptitle(f"Warm-start gap against pretraining fraction (mean and 95% CI over {int(g.n.max())} seeds)")
    return fig


def _summarise(rows: pd.DataFrame, by: list[str], value: str = "final_test_acc") -> pd.DataFrame:
    """Mean and 95% interval of ``value`` over seeds, per group ``by``."""
    out = [
        dict(zip(by, k if isinstance(k, tuple) else (k,))) | dict(zip(("mean", "lo", "hi"), mean_ci(x[value]))) for k, x in rows.groupby(by)
    ]
    return pd.DataFrame(out)


def _yerr(s: pd.DataFrame) -> list:
    """Error-bar lengths below and above ``s["mean"]`` for its interval ``[lo, hi]``."""
    return [s["mean"] - s["lo"], s["hi"] - s["mean"]]


def _errorbar(ax, x, s: pd.DataFrame, **kw) -> None:
    ax.errorbar(x, s["mean"], yerr=_yerr(s), capsize=3, marker="o", ms=4, **kw)


def _fresh_band(ax, rows: pd.DataFrame, label: str = "fresh") -> None:
    m, lo, hi = mean_ci(rows[rows.arm == "fresh"].drop_duplicates("run").final_test_acc)
    ax.axhspan(lo, hi, color=COLORS["fresh"], alpha=0.15, lw=0)
    ax.axhline(m, color=COLORS["fresh"], lw=1.2, label=label)


def _n(rows: pd.DataFrame) -> int:
    return int(rows.seed.nunique())


def pretrain_length_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy after tuning against pretraining epochs (symlog x), one panel per
    optimiser, the fresh level as a band (Berariu et al. Fig. 2)."""
    f = final[final.experiment == "pretrain_length"]
    opts = list(dict.fromkeys(f.optimizer))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(opts), figsize=(3.2 * len(opts), 3.2), sharey=True, squeeze=False)
        for ax, opt in zip(axes[0], opts):
            rows = f[f.optimizer == opt]
            _fresh_band(ax, rows)
            s = _summarise(rows[rows.arm == "warm"], ["pretrain_epochs"])
            _errorbar(ax, s.pretrain_epochs, s, color=COLORS["warm"], label="warm start")
            ax.set_xscale("symlog", linthresh=1)
            ax.set(title=opt, xlabel="pretraining epochs")
        axes[0][0].set_ylabel("final test accuracy")
        axes[0][0].legend()
        fig.suptitle(f"Warm start against pretraining length, per optimiser (mean, 95% CI, {_n(f)} seeds)")
    return fig


def smooth_shift_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy of the smooth-shift run against gamma, fresh as a band; inset: the
    probability p(n) = 1 - gamma^(50 n/N) of drawing from the full set (Berariu et al. Fig. 3)."""
    f = final[final.experiment == "smooth_shift"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        _fresh_band(ax, f)
        s = _summarise(f[f.arm == "shift"], ["gamma"])
        _errorbar(ax, s.gamma, s, color=COLORS["warm"], label="smooth shift")
        ax.set(xlabel="gamma (larger: slower shift to the full set)", ylabel="final test accuracy")
        ax.legend(loc="lower left")
        inset = ax.inset_axes([0.62, 0.1, 0.35, 0.35])
        t = np.linspace(0, 1, 200)
        for i, g in enumerate(s.gamma):
            inset.plot(t, 1 - g ** (50 * t), color=CYCLE[i % len(CYCLE)], lw=1, label=f"{g:g}")
        inset.set_xscale("symlog", linthresh=0.01)
        inset.set(xlabel="n / N", ylabel="p(n)")
        inset.tick_params(labelsize=6)
        inset.xaxis.label.set_size(6)
        inset.yaxis.label.set_size(6)
        fig.suptitle(f"Smooth shift from the subset to the full set ({_n(f)} seeds)")
    return fig


def stages_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy against the number of pretraining stages, one line per r (Fig. 4)."""
    f = final[final.experiment == "stages"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        _fresh_band(ax, f, "fresh (n = 0)")
        for i, (r, rows) in enumerate(f[f.arm == "warm"].groupby("r")):
            s = _summarise(rows, ["stages"])
            _errorbar(ax, s.stages, s, color=CYCLE[i % len(CYCLE)], label=f"r = {r:g}")
        ax.set(xlabel="pretraining stages n", ylabel="final test accuracy")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
        fig.suptitle(f"Several pretraining stages with class imbalance ({_n(f)} seeds)")
    return fig


def width_depth_figure(gap: pd.DataFrame, final: pd.DataFrame) -> plt.Figure:
    """The paired gap with its interval per (width, depth), grouped by width (Fig. 5)."""
    keys = final[final.experiment == "width_depth"].drop_duplicates("condition")[["condition", "width", "depth"]]
    g = gap[gap.experiment == "width_depth"].merge(keys, on="condition")
    depths, widths = sorted(g.depth.unique()), sorted(g.width.unique())
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        step = 0.8 / len(depths)
        for i, d in enumerate(depths):
            x = g[g.depth == d].sort_values("width")
            pos = np.array([widths.index(w) for w in x.width]) + (i - (len(depths) - 1) / 2) * step
            err = [x.gap_mean - x.gap_ci_low, x.gap_ci_high - x.gap_mean]
            ax.bar(pos, x.gap_mean, width=step * 0.9, yerr=err, capsize=3, color=CYCLE[i % len(CYCLE)], label=f"depth {int(d)}")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(widths)), [str(int(w)) for w in widths])
        ax.set(xlabel="width", ylabel="gap in test accuracy (fresh - warm)")
        ax.legend()
        fig.suptitle(f"Generalisation gap per width and depth (95% CI, {int(g.n.max())} seeds)")
    return fig


def reset_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy per set of re-initialised units, fresh as a band, plain warm as a bar (Fig. 6)."""
    f = final[final.experiment == "reset"]
    order = list(dict.fromkeys(f.reset))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.2 * len(order) + 2, 3.4))
        _fresh_band(ax, f)
        s = _summarise(f[f.arm == "warm"], ["reset"]).set_index("reset").loc[order]
        colors = [COLORS["warm"] if r == "none" else CYCLE[0] for r in order]
        ax.bar(range(len(order)), s["mean"], yerr=_yerr(s), capsize=3, color=colors)
        ax.set_xticks(range(len(order)), [r.replace("+", "\n") if r != "none" else "none\n(plain warm)" for r in order], fontsize=7)
        fresh = f[f.arm == "fresh"].drop_duplicates("run").final_test_acc
        ax.set_ylim(min(s["lo"].min(), s["mean"].min(), fresh.min()) - 0.02, max(s["hi"].max(), s["mean"].max(), fresh.max()) + 0.01)
        ax.set(xlabel="units re-initialised after pretraining", ylabel="final test accuracy")
        ax.legend()
        fig.suptitle(f"Resetting units after pretraining ({_n(f)} seeds)")
    return fig


def speed_figure(metrics: pd.DataFrame, final: pd.DataFrame, threshold: float) -> plt.Figure:
    """Test accuracy against tuning epoch when the first k units are kept (the rest reset),
    against fresh and plain warm; right, epochs to reach ``threshold`` (appendix Fig. 11)."""
    f = final[final.experiment == "speed"]
    with plt.rc_context(STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
        curves = [("fresh", f[f.arm == "fresh"].drop_duplicates("run"), COLORS["fresh"])]
        ks = sorted(f.keep_first.unique())
        for i, k in enumerate(ks):
            label = "plain warm (keep all)" if k == max(ks) else f"keep first {int(k)}"
            curves.append((label, f[(f.arm == "warm") & (f.keep_first == k)], COLORS["warm"] if k == max(ks) else CYCLE[i % len(CYCLE)]))
        for label, rows, color in curves:
            m = metrics[metrics.run.isin(rows.run) & (metrics.split == "test")].pivot(index="epoch", columns="run", values="acc")
            _band(a, m, 0, color, label)
        a.axhline(threshold, color="k", lw=0.6, ls="--")
        a.set(xlabel="tuning epoch", ylabel="test accuracy", title="tuning curves")
        a.legend(fontsize=7)
        names = [c[0] for c in curves]
        stats = [mean_ci(c[1].epochs_to_threshold.dropna()) for c in curves]
        b.bar(
            range(len(curves)),
            [s[0] for s in stats],
            yerr=[[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]],
            capsize=3,
            color=[c[2] for c in curves],
        )
        b.set_xticks(range(len(curves)), [n.replace(" (", "\n(") for n in names], fontsize=7)
        b.set(ylabel=f"epochs to test accuracy {threshold:g}", title="speed")
        fig.suptitle(f"Tuning speed when early units are kept ({_n(f)} seeds)")
    return fig


def tune_lr_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy per tuning learning-rate multiplier, warm and fresh (Fig. 7)."""
    f = final[final.experiment == "tune_lr"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        for arm in ("fresh", "warm"):
            s = _summarise(f[f.arm == arm], ["lr_multiplier"])
            _errorbar(ax, s.lr_multiplier, s, color=COLORS[arm], label=arm)
        ax.set_xscale("log")
        ax.set(xlabel="tuning learning rate multiplier", ylabel="final test accuracy")
        ax.legend()
        fig.suptitle(f"Larger tuning learning rate ({_n(f)} seeds)")
    return fig


def shrink_perturb_figure(final: pd.DataFrame) -> plt.Figure:
    """Final test accuracy and epochs to threshold against the shrink factor, one line per
    perturbation scale; fresh as a band, plain warm (shrink 1, perturb 0) as a line."""
    f = final[final.experiment == "shrink_perturb"]
    plain = f[(f.shrink == 1) & (f.perturb == 0) & (f.arm != "fresh")]
    sp = f[(f.arm == "shrink_perturb")]
    with plt.rc_context(STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
        _fresh_band(a, f)
        if len(plain):
            a.axhline(plain.final_test_acc.mean(), color=COLORS["warm"], lw=1.2, label="plain warm")
        for i, (sigma, rows) in enumerate(sp.groupby("perturb")):
            s = _summarise(rows, ["shrink"])
            _errorbar(a, s.shrink, s, color=CYCLE[i % len(CYCLE)], label=f"perturb {sigma:g}")
            t = _summarise(rows.dropna(subset=["epochs_to_threshold"]), ["shrink"], "epochs_to_threshold")
            if len(t):
                _errorbar(b, t.shrink, t, color=CYCLE[i % len(CYCLE)], label=f"perturb {sigma:g}")
        fresh_t = f[f.arm == "fresh"].drop_duplicates("run").epochs_to_threshold.dropna()
        if len(fresh_t):
            b.axhline(fresh_t.mean(), color=COLORS["fresh"], lw=1.2, label="fresh")
        a.set(xlabel="shrink lambda", ylabel="final test accuracy")
        b.set(xlabel="shrink lambda", ylabel="epochs to threshold")
        a.legend(fontsize=7)
        b.legend(fontsize=7)
        fig.suptitle(f"Shrink & perturb at the warm start ({_n(f)} seeds)")
    return fig


def table1_figure(final: pd.DataFrame) -> plt.Figure:
    """Warm and fresh final test accuracy per (data set, model, optimiser) of Ash & Adams Table 1."""
    f = final[final.experiment == "table1"]
    conds = list(dict.fromkeys(f.condition))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.1 * len(conds) + 2, 3.4))
        for j, arm in enumerate(("fresh", "warm")):
            s = _summarise(f[f.arm == arm], ["condition"]).set_index("condition").loc[conds]
            pos = np.arange(len(conds)) + (j - 0.5) * 0.4
            ax.bar(pos, s["mean"], width=0.38, yerr=_yerr(s), capsize=3, color=COLORS[arm], label=arm)
        labels = [c.replace("dataset=", "").replace(",model=", "\n").replace(",optimizer=", "\n") for c in conds]
        ax.set_xticks(range(len(conds)), labels, fontsize=7)
        ax.set(ylabel="final test accuracy")
        ax.legend()
        fig.suptitle(f"Ash & Adams Table 1: warm vs fresh ({_n(f)} seeds)")
    return fig


LABELS = {
    "hessian_eig1": "top Hessian eigenvalue",
    "hessian_trace": "Hessian trace (Hutchinson)",
    "grad_trace_cov": "tr Σ of per-example gradients",
    "noise_scale": "gradient noise scale B_simple",
    "weight_norm": "weight norm",
    "dist_init": "distance from initialisation",
    "dist_start": "distance from the run's start",
    "dead_units": "fraction of dead ReLU units",
    "effective_rank": "effective rank of penultimate features",
}


def diagnostics_figure(diag: pd.DataFrame, quantities: list[str], title: str) -> plt.Figure:
    """Each quantity against tuning epoch (symlog), warm vs fresh, mean and 95% interval over
    seeds; the value at the end of pretraining is drawn at epoch 0 as a grey marker."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(quantities), figsize=(3.4 * len(quantities), 3.2), squeeze=False)
        for ax, q in zip(axes[0], quantities):
            d = diag[diag.quantity == q]
            for arm in ("fresh", "warm"):
                x = d[d.arm == arm].pivot(index="epoch", columns="seed", values="value")
                if len(x):
                    _band(ax, x, 0, COLORS[arm], arm)
            pre = d[d.arm == "pretrain"].value
            if len(pre):
                m, lo, hi = mean_ci(pre)
                ax.errorbar(
                    [0],
                    [m],
                    yerr=[[m - lo], [hi - m]] if len(pre) > 1 else None,
                    color=COLORS["pretrain"],
                    marker="s",
                    capsize=3,
                    label="end of pretraining",
                )
            ax.set_xscale("symlog", linthresh=1)
            ax.set(title=LABELS.get(q, q), xlabel="tuning epoch")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"{title} (mean, 95% CI over {diag.seed.nunique()} seeds)")
    return fig


def hypothesis_figure(h: pd.DataFrame) -> plt.Figure:
    """Per seed, the gap against the warm-minus-fresh difference in final sharpness, and against
    the fresh-minus-warm difference in early gradient noise (``summary.hypothesis_table``)."""
    panels = [
        ("d_sharpness", "top Hessian eigenvalue at the end: warm - fresh"),
        ("d_noise", "early tr Σ: fresh - warm (mean over noise epochs)"),
    ]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        for ax, (col, label) in zip(axes, panels):
            ax.scatter(h[col], h.gap, color="k", s=18)
            ax.axhline(0, color="k", lw=0.6)
            ax.axvline(0, color="k", lw=0.6)
            if len(h) > 2 and h[col].std() > 0:
                slope, icpt = np.polyfit(h[col], h.gap, 1)
                xs = np.linspace(h[col].min(), h[col].max(), 10)
                ax.plot(xs, slope * xs + icpt, color=COLORS["warm"], lw=1, label=f"r = {np.corrcoef(h[col], h.gap)[0, 1]:.2f}")
                ax.legend()
            ax.set(xlabel=label)
        axes[0].set_ylabel("gap in test accuracy (fresh - warm)")
        fig.suptitle("Does the data support the hypothesis? One point per seed")
    return fig
