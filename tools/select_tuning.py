"""Choose the default study's learning rate and epoch cap on a validation split, never the test set.

The training set of the default MNIST-1D (``config.yaml``'s generator) is split: a random 20% is
held out as validation, the rest plays the training set (pretraining on a random half of it).
For each candidate Adam learning rate, seeds disjoint from the study's (1000 + i) pretrain for the
default's pretraining epochs, then tune warm and fresh with the stopping rule (99% of the training
data in eval mode for ``consecutive`` epochs, the protocol's read-out rule, under a cap), exactly as
the pipeline trains. (Before protocol 2 the rule was 20 epochs past the first at 99%: the rates in
``config.yaml`` were chosen under it.)

Rule, fixed before running: among the rates at which every arm of every seed reaches the
threshold within the cap, take the one with the best fresh validation accuracy (the reference
model a practitioner would tune); the cap is the next round number above 1.5 times the slowest
stop seen. The warm start's accuracy and the gap are printed but play no part in the choice.

    python tools/select_tuning.py [--optimizer adam] [--lrs 0.001 0.002 0.004] [--seeds 4] [--cap 400]

The other optimisers of ``pretrain_length`` are chosen the same way, each from a factor-2 grid
around the rate it had before (``--optimizer sgd --lrs 0.05 0.1 0.2``).
"""

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import yaml

from warmstart.data import make_mnist1d
from warmstart.models import build_model
from warmstart.randomness import VALIDATION, seeded
from warmstart.train import shuffled, train

ROOT = Path(__file__).resolve().parent.parent


def split(config: dict) -> tuple[dict, torch.Tensor]:
    """The training set cut into training and validation (as ``x_test``), and the pretraining half."""
    d = config["dataset"]
    full = make_mnist1d(d["num_train"], d["num_test"], d["generator_seed"])
    n = len(full["y_train"])
    perm = torch.randperm(n, generator=seeded(d["subset_seed"], VALIDATION))
    val, tr = perm[: n // 5], perm[n // 5 :]
    data = {"x_train": full["x_train"][tr], "y_train": full["y_train"][tr], "x_test": full["x_train"][val], "y_test": full["y_train"][val]}
    half = torch.randperm(len(tr), generator=seeded(d["subset_seed"], VALIDATION, 1))[: len(tr) // 2]
    return data, half


def trial(config: dict, data: dict, half: torch.Tensor, optimizer: str, lr: float, seeds: list[int], cap: int, consecutive: int) -> dict:
    """Pretrain, then warm and fresh tuning with the stopping rule, for ``seeds`` at rate ``lr``."""
    m, t = config["model"], config["train"]
    kw = dict(optimizer=optimizer, lr=lr, batch_size=t["batch_size"])

    def models():
        return [build_model(m["name"], (1, 40), 10, seed=s, width=m["width"], depth=m["depth"]) for s in seeds]

    full = torch.arange(len(data["y_train"]))
    pre = models()
    train(pre, data, shuffled(half), order_seeds=[[s, 0] for s in seeds], epochs=t["pretrain_epochs"], eval_indices=half, **kw)
    out = {}
    for arm, start in (("fresh", models()), ("warm", pre)):
        res = train(start, data, shuffled(full), order_seeds=[[s, 1] for s in seeds], epochs=cap, stop_train_acc=0.99,
                    stop_consecutive=consecutive, **kw)  # fmt: skip
        stops, val = [], []
        for metrics, _ in res:
            fit = {r["epoch"]: r["acc"] for r in metrics if r["split"] == "train_eval"}
            reached = min((e for e, a in fit.items() if a >= 0.99), default=math.inf)
            last = max(fit)
            stops.append(reached)
            val.append(np.mean([r["acc"] for r in metrics if r["split"] == "test" and r["epoch"] > last - consecutive]))
        out[arm] = {"stop": stops, "val": val}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--optimizer", default="adam", choices=["adam", "sgd", "momentum", "rmsprop"])
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.001, 0.002, 0.004])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--cap", type=int, default=400)
    parser.add_argument("--consecutive", type=int, default=None, help="default: protocol.read.consecutive")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    args.consecutive = args.consecutive or config["protocol"]["read"]["consecutive"]
    data, half = split(config)
    seeds = [1000 + i for i in range(args.seeds)]
    print(f"{args.optimizer}; validation split: {len(data['y_test'])} held-out training examples; seeds {seeds}; cap {args.cap}, "
          f"consecutive {args.consecutive}\n")  # fmt: skip
    print("| lr | fresh: epochs to 99% (mean, max) | warm: epochs to 99% (mean, max) | fresh val acc | warm val acc | gap (not used) |")
    print("|---|---|---|---|---|---|")
    results = {}
    for lr in args.lrs:
        r = trial(config, data, half, args.optimizer, lr, seeds, args.cap, args.consecutive)
        results[lr] = r
        f, w = r["fresh"], r["warm"]
        print(f"| {lr:g} | {np.mean(f['stop']):.0f}, {max(f['stop']):.0f} | {np.mean(w['stop']):.0f}, {max(w['stop']):.0f} | "
              f"{100 * np.mean(f['val']):.2f} | {100 * np.mean(w['val']):.2f} | {100 * (np.mean(f['val']) - np.mean(w['val'])):.2f} |",
              flush=True)  # fmt: skip
    ok = {lr: r for lr, r in results.items() if all(math.isfinite(s) for arm in r.values() for s in arm["stop"])}
    if not ok:
        print("\nno rate converged every arm within the cap")
    else:
        best = max(ok, key=lambda lr: np.mean(ok[lr]["fresh"]["val"]))
        slowest = max(s for arm in ok[best].values() for s in arm["stop"])
        print(f"\nchosen: lr {best:g}; tune_epochs cap {int(math.ceil(1.5 * (slowest + args.consecutive) / 50) * 50)}")
