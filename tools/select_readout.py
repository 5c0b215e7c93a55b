"""Choose the protocol's read-out rule on a validation split, never the test set.

The question: at which epochs is a tuning run read, so that both arms of a pair fit their
training data where they are read (Ash & Adams 2020 and Berariu et al. 2021 compare networks that
fit their training set) and the paired gap is measured as precisely as the data allow?

Candidates (each applied to the same curves, since where a run is read does not change how it
trained before):

* ``first``: the first epoch whose eval-mode training accuracy reaches 99% (Ash & Adams 2020);
* ``consecutive k`` (k = 3, 5, 10): the first k consecutive epochs that all reach it, read as
  their mean;
* ``after 20``: the first epoch that reaches it and the 20 after it, read as the mean of the 20
  (the pipeline's rule before protocol 2);
* ``late 20``: the last 20 epochs of a run of fixed length (Berariu et al. 2021's late window of
  a long constant-rate run; here the tuning cap).

The split is ``tools/select_tuning.py``'s (a random 20% of the default MNIST-1D training set held
out as validation; pretraining on a random half of the rest). Seeds 1000 + i, disjoint from the
study's (0-31) and the confirmation's (2000-2031). Three settings of the default study, where the
rule matters most: the default model at the default rate; ``tune_lr``'s x10 rate (the pipeline's
fastest rate); the six-unit model of ``reset`` and ``speed``. Every tuning run trains to its cap
with its training data evaluated in eval mode after every epoch.

Rule, fixed before running: among the candidates under which **every** pair of every setting is
fitted where it is read (both arms reach the rule within the cap and fit at every epoch read),
take the one with the smallest standard deviation over seeds of the paired validation gap
(fresh - warm), averaged over the settings: the spread that sets the width of every interval.
Cost (epochs trained) is printed, not used. The highest eval-mode training accuracy of a plain
warm start at its first tuning step is printed too: the protocol's speed threshold must lie above
it (``protocol.start_fit_validation``), so that no arm meets the threshold at its start.

    python tools/select_readout.py [--seeds 8]
"""

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import yaml
from select_tuning import split

from warmstart.models import build_model
from warmstart.train import shuffled, train

ROOT = Path(__file__).resolve().parent.parent
FIT = 0.99


def rules(cap: int) -> dict:
    """Rule name -> function(fit curve) giving the epochs read (None: never satisfied)."""

    def consecutive(k: int):
        def read(fit: np.ndarray) -> list[int] | None:
            ok = fit[1:] >= FIT  # epochs 1..cap
            run = 0
            for e, good in enumerate(ok, start=1):
                run = run + 1 if good else 0
                if run == k:
                    return list(range(e - k + 1, e + 1))
            return None

        return read

    def after(n: int):
        def read(fit: np.ndarray) -> list[int] | None:
            hits = np.flatnonzero(fit[1:] >= FIT)
            if not len(hits) or hits[0] + 1 + n > cap:
                return None
            first = hits[0] + 1
            return list(range(first + 1, first + n + 1))

        return read

    return {
        "first": consecutive(1),
        "consecutive 3": consecutive(3),
        "consecutive 5": consecutive(5),
        "consecutive 10": consecutive(10),
        "after 20": after(20),
        "late 20": lambda fit: list(range(cap - 19, cap + 1)),
    }


def curves(metrics: list[dict], split: str, cap: int) -> np.ndarray:
    out = np.full(cap + 1, np.nan)
    for r in metrics:
        if r["split"] == split:
            out[r["epoch"]] = r["acc"]
    return out


def setting(config: dict, data: dict, half: torch.Tensor, seeds: list[int], lr: float, tune_lr: float, depth: int, cap: int) -> dict:
    """Pretrain on the half, then tune warm and fresh to ``cap``: per arm, fit and validation curves."""
    m, t = config["model"], config["train"]
    models = lambda: [build_model(m["name"], (1, 40), 10, seed=s, width=m["width"], depth=depth) for s in seeds]  # noqa: E731
    pre = models()
    kw = dict(optimizer=t["optimizer"], batch_size=t["batch_size"])
    train(pre, data, shuffled(half), order_seeds=[[s, 0] for s in seeds], epochs=t["pretrain_epochs"], lr=lr, eval_indices=half, **kw)
    full = torch.arange(len(data["y_train"]))
    out = {}
    for arm, start in (("fresh", models()), ("warm", pre)):
        # a threshold above 1 is never met: the run trains to its cap with its fit measured every epoch
        res = train(start, data, shuffled(full), order_seeds=[[s, 1] for s in seeds], epochs=cap, lr=tune_lr, stop_train_acc=1.1, **kw)
        out[arm] = [(curves(metrics, "train_eval", cap), curves(metrics, "test", cap), curves(metrics, "train", cap)) for metrics, _ in res]
    return out


def score(runs: dict, read, cap: int) -> dict:
    """Per rule: pairs fitted where read, the paired validation gaps, and epochs trained."""
    fitted, gaps, epochs = [], [], []
    for (ffit, fval, _), (wfit, wval, _) in zip(runs["fresh"], runs["warm"], strict=True):
        both = []
        for fit, val in ((ffit, fval), (wfit, wval)):
            at = read(fit)
            ok = at is not None and bool(np.all(fit[at] >= FIT))
            both.append((ok, at, val))
            epochs.append(max(at) if at else cap)
        fitted.append(all(ok for ok, _, _ in both))
        if all(at is not None for _, at, _ in both):
            gaps.append(np.mean(both[0][2][both[0][1]]) - np.mean(both[1][2][both[1][1]]))
    return {"fitted": fitted, "gaps": np.array(gaps), "epochs": epochs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    data, half = split(config)
    seeds = [1000 + i for i in range(args.seeds)]
    lr, cap = config["train"]["lr"], config["train"]["tune_epochs"]
    tl = config["experiments"]["tune_lr"]
    settings = {
        "default model, lr": (lr, lr, config["model"]["depth"], cap),
        "tune_lr x10": (tl["lr"], 10 * tl["lr"], config["model"]["depth"], tl["tune_epochs"]),
        "six-unit model": (lr, lr, config["experiments"]["reset"]["model"]["depth"], cap),
    }
    print(f"validation split: {len(data['y_test'])} held-out training examples; seeds {seeds[0]}-{seeds[-1]}; fit = {FIT:g} eval mode\n")
    results, starts = {}, []
    for name, (pre_lr, tune_lr, depth, c) in settings.items():
        runs = setting(config, data, half, seeds, pre_lr, tune_lr, depth, c)
        starts += [train_mode[0] for _, _, train_mode in runs["warm"]]  # epoch 0: eval mode on the training data
        for rule, read in rules(c).items():
            results.setdefault(rule, {})[name] = score(runs, read, c)
        print(f"trained: {name} (pretraining lr {pre_lr:g}, tuning lr {tune_lr:g}, depth {depth}, cap {c})", flush=True)
    names = list(settings)
    print("\n| rule | " + " | ".join(f"{n}: fitted pairs, SD of gap, mean epochs" for n in names) + " | mean SD |")
    print("|---|" + "---|" * (len(names) + 1))
    eligible = {}
    for rule, per in results.items():
        cells, sds = [], []
        for n in names:
            r = per[n]
            sd = float(np.std(r["gaps"], ddof=1)) if len(r["gaps"]) > 1 else math.nan
            sds.append(sd)
            cells.append(f"{sum(r['fitted'])}/{len(r['fitted'])}, {100 * sd:.2f}, {np.mean(r['epochs']):.0f}")
        mean_sd = float(np.mean(sds))
        print(f"| {rule} | " + " | ".join(cells) + f" | {100 * mean_sd:.2f} |")
        if all(all(per[n]["fitted"]) for n in names):
            eligible[rule] = mean_sd
    print(f"\nhighest eval-mode training accuracy of a plain warm start at its start (epoch 0): {max(starts):.4f}")
    if not eligible:
        print("no rule fits every pair where it is read")
    else:
        best = min(eligible, key=eligible.get)
        print(f"chosen (every pair fitted where read, smallest mean SD of the paired gap): {best}")
