"""Choose each arena intervention's setting on a validation split, never the test set.

The split is ``tools/select_tuning.py``'s: a random 20% of the default MNIST-1D training set held
out as validation, the rest playing the training set, pretraining on a random half of it. Seeds
disjoint from the study's (1000 + i) pretrain once with the study's settings; then, for every
setting of every intervention's grid (``experiments.arena.grids`` of ``config.yaml``; the
product of its lists), the warm start is tuned with that intervention under the protocol's read-out
rule (``protocol.read``), as the pipeline trains it (``warmstart.starts``: shrink & perturb's noise and DASH at the warm
start, the other interventions during tuning).

With ``--fresh``, each intervention that acts only during tuning (L2, L2 Init, Parseval, ...) is
also searched on the fresh start, by the same rule: the setting ``experiments.regularised`` gives the
fresh arm, so that each arm has the setting chosen for it.

Rule, fixed before running: per intervention, among the settings whose every seed reaches the
training-accuracy threshold within the cap, take the one with the best mean validation accuracy
(the accuracy the intervention is for). The fresh and plain-warm validation accuracies are printed
for reference and play no part in the choice.

    python tools/select_interventions.py [--seeds 4] [--only sam redo] [--fresh]
"""

import argparse
import functools
import itertools
import math
from pathlib import Path

import numpy as np
import torch
import yaml
from select_tuning import split

from warmstart import interventions
from warmstart.models import build_model
from warmstart.protocol import read_rule
from warmstart.randomness import TUNE
from warmstart.runs import FIELD_DEFAULTS
from warmstart.train import shuffled, train
from warmstart.units import unit_names

ROOT = Path(__file__).resolve().parent.parent


def tune(config: dict, data: dict, starts: list, seeds: list[int], hooks=None) -> tuple[list[float], list[float]]:
    """Tune ``starts`` on the training part under the protocol's read-out rule (``protocol.read``): per
    seed the epoch it first reached the threshold (inf if never) and its validation accuracy over the
    epochs read (``nan`` where the run did not fit there: no setting is chosen on an unfitted run)."""
    t, rule = config["train"], read_rule(config)
    res = train(starts, data, shuffled(torch.arange(len(data["y_train"]))), optimizer=t["optimizer"], lr=t["lr"],
                batch_size=t["batch_size"], order_seeds=[[s, 1] for s in seeds], epochs=t["tune_epochs"],
                stop_train_acc=rule["train_acc"], stop_consecutive=rule["consecutive"], hooks=hooks)  # fmt: skip
    reached, val = [], []
    for metrics, _ in res:
        fit = {r["epoch"]: r["acc"] for r in metrics if r["split"] == "train_eval"}
        read = sorted(fit)[-rule["consecutive"] :]
        fitted = all(fit[e] >= rule["train_acc"] for e in read)
        reached.append(min((e for e, a in fit.items() if a >= rule["train_acc"]), default=math.inf) if fitted else math.inf)
        val.append(np.mean([r["acc"] for r in metrics if r["split"] == "test" and r["epoch"] in read]))
    return reached, val


def warm_starts(config: dict, data: dict, pretrained: list, seeds: list[int], name: str, setting: dict) -> tuple[list, object]:
    """Copies of the pretrained models with intervention ``name`` at ``setting`` applied at the warm
    start, and its training hooks, as the pipeline does it (``warmstart.interventions``)."""
    m = config["model"]
    fresh = lambda s: build_model(m["name"], (1, 40), 10, seed=s, width=m["width"], depth=m["depth"])  # noqa: E731
    arm = {"name": name, **setting}
    fields = interventions.fields(arm, unit_names(m["name"], m["depth"]))
    starts = []
    for s, model in zip(seeds, pretrained, strict=True):
        w = fresh(s)
        w.load_state_dict(model.state_dict())
        spec = FIELD_DEFAULTS | {"init_seed": s, "order_seed": [s, TUNE]} | fields  # the warm run, as far as the intervention reads it
        ctx = interventions.Start(lambda seed, s=s: fresh(s if seed is None else seed), lambda: (data["x_train"], data["y_train"]))
        w = interventions.at_warm_start(spec, w, ctx)
        starts.append(w)
    return starts, interventions.during(fields.get("intervention"), lambda: [fresh(s) for s in seeds])


def search(name: str, grid: dict, tuned) -> dict | None:
    """Print one table row per setting of ``grid`` (``tuned(setting)`` gives per seed the epochs to
    fit and the validation accuracy) and return the rule's choice: the best mean validation accuracy
    among the settings whose every seed converged (``None``: none did)."""
    results = {}
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values))
        r, v = results[values] = tuned(setting)
        text = ", ".join(f"{k} {x:g}" for k, x in setting.items())
        print(f"| {name} | {text} | {np.mean(r):.0f}, {max(r):.0f} | {100 * np.mean(v):.2f} |", flush=True)
    ok = {k: rv for k, rv in results.items() if all(math.isfinite(x) for x in rv[0])}
    return dict(zip(grid, max(ok, key=lambda k: np.mean(ok[k][1])))) if ok else None


def report(title: str, chosen: dict) -> None:
    print(f"\n{title}")
    for name, setting in chosen.items():
        print(f"  {name}: {setting if setting else 'none converged'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--only", nargs="*", default=None, help="interventions to search (default: every grid)")
    parser.add_argument("--fresh", action="store_true", help="also choose, by the same rule, the setting of each intervention "
                        "that acts only during tuning for the fresh start (experiments.regularised.fresh)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    t, m = config["train"], config["model"]
    data, half = split(config)
    seeds = [1000 + i for i in range(args.seeds)]
    models = lambda: [build_model(m["name"], (1, 40), 10, seed=s, width=m["width"], depth=m["depth"]) for s in seeds]  # noqa: E731
    pretrained = models()
    train(pretrained, data, shuffled(half), optimizer=t["optimizer"], lr=t["lr"], batch_size=t["batch_size"],
          order_seeds=[[s, 0] for s in seeds], epochs=t["pretrain_epochs"], eval_indices=half)  # fmt: skip
    print(f"validation split: {len(data['y_test'])} held-out training examples; seeds {seeds}; read-out rule {read_rule(config)}, "
          f"cap {t['tune_epochs']}\n")  # fmt: skip
    print("| intervention | setting | epochs to 99% (mean, max) | validation acc |")
    print("|---|---|---|---|")
    for label, starts in (
        ("fresh", models()),
        ("plain warm", warm_starts(config, data, pretrained, seeds, "shrink_perturb", {"shrink": 1.0, "perturb": 0.0})[0]),
    ):
        r, v = tune(config, data, starts, seeds)
        print(f"| {label} | – | {np.mean(r):.0f}, {max(r):.0f} | {100 * np.mean(v):.2f} |", flush=True)
    grids = config["experiments"]["arena"]["grids"]
    searched = {name: grid for name, grid in grids.items() if not args.only or name in args.only}

    def warm_tuned(name: str, setting: dict) -> tuple[list[float], list[float]]:
        starts, hooks = warm_starts(config, data, pretrained, seeds, name, setting)
        return tune(config, data, starts, seeds, hooks)

    def fresh_tuned(name: str, setting: dict) -> tuple[list[float], list[float]]:
        return tune(config, data, models(), seeds, interventions.during({"name": name, **setting}, models))

    chosen = {name: search(name, grid, functools.partial(warm_tuned, name)) for name, grid in searched.items()}
    report("chosen (best validation accuracy among settings whose every seed converged):", chosen)
    if args.fresh:  # the same rule for the fresh start given each intervention that acts only during tuning
        print("\n| intervention on the fresh start | setting | epochs to 99% (mean, max) | validation acc |")
        print("|---|---|---|---|")
        during_only = {n: g for n, g in searched.items() if interventions.REGISTRY[n].hooks and interventions.REGISTRY[n].at_start is None}
        chosen = {name: search(name, grid, functools.partial(fresh_tuned, name)) for name, grid in during_only.items()}
        report("chosen for the fresh start (the same rule):", chosen)
