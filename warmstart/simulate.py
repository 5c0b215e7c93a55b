"""Simulated results for testing the verdict rules (``tests/test_verdicts.py``,
``benchmarks/verdict_power.py``): the rows of a real config's run table with every run's final
accuracy drawn at random and no effect anywhere (``null_final``), and an experiment's own
contrasts redrawn with its claim true (``planted``); every pair converged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from warmstart import experiments
from warmstart.verdicts import Contrast, judge, verdict


def null_final(rows: pd.DataFrame, rng: np.random.Generator, sd: float = 0.015, seed_sd: float = 0.01) -> pd.DataFrame:
    """``final.csv`` for the run table's ``rows`` with no effect: each run's accuracy is a seed
    effect plus its own noise (a run shared by several rows keeps one value, as in a real study);
    epochs to fit likewise, in epochs."""
    run_ids = rows.run.unique()
    seeds = rows.seed.unique()
    seed_acc = dict(zip(seeds, rng.normal(0, seed_sd, len(seeds))))
    acc = dict(zip(run_ids, 0.8 + rng.normal(0, sd, len(run_ids))))
    epochs = dict(zip(run_ids, 20 + rng.normal(0, 3, len(run_ids))))
    out = rows.copy()
    out["final_test_acc"] = out.run.map(acc) + out.seed.map(seed_acc)
    out["final_train_acc"] = 1.0
    out["epochs"] = 100
    out["stop_epoch"] = out.run.map(epochs)  # epochs to fit: the speed measure
    out["fit_start"] = 0.5
    out["fit_min"] = 1.0
    out["converged"] = True
    return out


def planted(contrasts: list[Contrast], rng: np.random.Generator, ses: float, margins: dict[str, float]) -> list[Contrast]:
    """The same contrasts (claims, kinds, seeds) with values drawn so that the claim is true:
    an effect's (or control's) mean is ``ses`` standard errors of its mean, an equivalence's mean is 0 with its
    margin at ``ses`` standard errors."""
    out = []
    for c in contrasts:
        n = len(c.values)
        if c.kind == "check":  # an identity holds by construction
            values = np.zeros(n)
        elif c.kind != "equivalence":  # an effect or a control
            values = rng.normal(ses / np.sqrt(n), 1.0, n)
        else:
            values = rng.normal(0.0, margins[c.unit] * np.sqrt(n) / ses, n)
        out.append(Contrast(c.claim, c.name, c.kind, pd.Series(values, index=c.values.index), True, c.unit, c.condition))
    return out


def rows_of(config: dict) -> pd.DataFrame:
    """The rows of ``config``'s run table (experiment, condition, arm, seed, run, parameters)."""
    return pd.DataFrame(experiments.build(config).rows)


def rates(config: dict, draws: int, ses: tuple[float, ...], margins: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """Per claim of every enabled experiment: how often each verdict came out over ``draws``
    simulated studies with no effect (``effect_se`` 0) and with the claim planted at each of ``ses``
    standard errors."""
    rows, rng = rows_of(config), np.random.default_rng(seed)
    on = [n for n in experiments.enabled(config) if experiments.REGISTRY[n].inputs == ("final",)]
    settings = {n: experiments.settings(config, n) for n in on}  # those judged from final.csv alone
    out: list[dict] = []
    for _ in range(draws):
        final = null_final(rows, rng)
        for name, cfg in settings.items():
            cs = experiments.contrasts(name, {"final": final}, cfg)
            for se, contrasts in [(0.0, cs)] + [(s, planted(cs, rng, s, margins)) for s in ses]:
                j = judge(name, contrasts, margins)
                claims = experiments.claims(name, cfg)
                out += [{"experiment": name, "claim": c, "effect_se": se, "verdict": verdict(j[j.claim == c])} for c in claims]
    return pd.DataFrame(out).groupby(["experiment", "claim", "effect_se"]).verdict.value_counts(normalize=True).unstack(fill_value=0)
