"""Speed of the project's training step against a plain PyTorch loop, and the pipeline's overheads.

    python benchmarks/bench.py                 # CPU throughput, start-up, DAG scale, epochs
    python benchmarks/bench.py --study results # also: a finished study's wall time vs its training time

Everything is measured in one process and one run, interleaved, median of ``--repeats``; the
machine is noisy, so compare ratios, not absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warmstart import data as datasets  # noqa: E402
from warmstart import experiments  # noqa: E402
from warmstart import train as T  # noqa: E402
from warmstart.config import validate  # noqa: E402
from warmstart.models import build_model  # noqa: E402


def plain_epoch(model, opt, x, y, batch_size, g):
    """The minimal loop: permute, slice, forward, loss, backward, step."""
    perm = torch.randperm(len(y), generator=g)
    for i in range(0, len(y), batch_size):
        idx = perm[i : i + batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def cpu_throughput(d: dict, epochs: int, repeats: int, sizes: tuple[int, ...] = (1, 8, 16, 32)) -> list[dict]:
    """Model-epochs per core-second of the project's shard training (its evaluation passes timed
    apart and left out) at each shard size ``S`` against the plain single-model loop, interleaved
    in one process on one thread, median over ``repeats``; the default's MLP 100-100 and a CNN."""
    real_evaluate, eval_s = T.evaluate, []

    def timed_evaluate(*args, **kwargs):
        t = time.perf_counter()
        out = real_evaluate(*args, **kwargs)
        eval_s.append(time.perf_counter() - t)
        return out

    T.evaluate = timed_evaluate  # train() looks it up in its module
    out = []
    try:
        for name, kw in (("mlp", {"width": 100, "depth": 2}), ("cnn", {"width": 32, "depth": 3})):
            shape, n = d["meta"]["input_shape"], len(d["y_train"])
            plain, ours, evals = [], {S: [] for S in sizes}, {S: [] for S in sizes}
            for r in range(repeats):
                model = build_model(name, shape, 10, seed=r, **kw)
                opt = torch.optim.Adam(model.parameters(), 1e-3)
                g = torch.Generator().manual_seed(r)
                t = time.perf_counter()
                for _ in range(epochs):
                    plain_epoch(model, opt, d["x_train"], d["y_train"], 128, g)
                plain.append(epochs / (time.perf_counter() - t))
                for S in sizes:
                    models = [build_model(name, shape, 10, seed=r * 100 + i, **kw) for i in range(S)]
                    eval_s.clear()
                    t = time.perf_counter()
                    T.train(models, d, T.shuffled(torch.arange(n)), optimizer="adam", lr=1e-3, epochs=epochs, batch_size=128,
                            order_seeds=[[r * 100 + i, 1] for i in range(S)])  # fmt: skip
                    total = time.perf_counter() - t
                    ours[S].append(S * epochs / (total - sum(eval_s)))
                    evals[S].append(sum(eval_s[2:]) / (total - sum(eval_s[:2])))  # share of the per-epoch test passes
            p = statistics.median(plain)
            for S in sizes:
                o = statistics.median(ours[S])
                out.append({"model": name, "S": S, "model_epochs_per_core_s": o, "plain_model_epochs_per_core_s": p,
                            "over_plain": o / p, "eval_share": statistics.median(evals[S])})  # fmt: skip
    finally:
        T.evaluate = real_evaluate
    return out


def gpu_throughput(n: int = 10_000, epochs: int = 2, compile: bool = False, sizes: tuple[int, ...] = (1, 4, 8)) -> list[dict]:
    """ResNet-18 on CIFAR-sized data resident on the GPU, batch 128: the plain fp32 loop against
    the project's shard training of S seeds with bf16 autocast and channels_last (and
    ``torch.compile`` if asked), images per second (S seeds count S images per example)."""
    dev = "cuda"
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 32, 32, generator=g).to(dev), torch.randint(0, 10, (n,), generator=g).to(dev)
    d = {"x_train": x, "y_train": y, "x_test": x[:1000], "y_test": y[:1000]}

    def timed(fn, images: int) -> float:
        fn(1)  # warm-up: cuDNN autotuning, compilation
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn(epochs)
        torch.cuda.synchronize()
        return images * epochs / (time.perf_counter() - t)

    def plain(e: int) -> None:
        model = build_model("resnet", (3, 32, 32), 10, seed=0, width=64, depth=2).to(dev)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        for _ in range(e):
            plain_epoch(model, opt, x, y, 128, torch.Generator().manual_seed(0))

    def ours(S: int):
        def fn(e: int) -> None:
            models = [
                build_model("resnet", (3, 32, 32), 10, seed=i, width=64, depth=2).to(dev).to(memory_format=torch.channels_last)
                for i in range(S)
            ]
            dd = d | {k: d[k].contiguous(memory_format=torch.channels_last) for k in ("x_train", "x_test")}
            order = T.shuffled(torch.arange(n, device=dev))
            T.train(models, dd, order, optimizer="adam", lr=1e-3, epochs=e, batch_size=128,
                    order_seeds=[[i, 1] for i in range(S)], bf16=True, compile=compile)  # fmt: skip

        return fn

    p = timed(plain, n)
    out = []
    for S in sizes:
        o = timed(ours(S), n * S)
        out.append({"device": torch.cuda.get_device_name(), "S": S, "compile": compile, "plain_fp32_images_per_s": p,
                    "ours_images_per_s": o, "ours_over_plain": o / p})  # fmt: skip
    return out


def start_to_first_step(data_file: Path) -> float:
    """A fresh process as a training job starts: imports, data load, model and optimiser, one step."""
    code = (
        "import torch, torch.nn.functional as F\n"
        "from warmstart import data, run\nfrom warmstart.models import build_model\nfrom warmstart.optim import Optimizer\n"
        f"d = data.load({str(data_file)!r})\n"
        "m = build_model('mlp', d['meta']['input_shape'], 10, 0, width=100, depth=2)\n"
        "opt = Optimizer('adam', m.parameters(), 1e-3)\n"
        "F.cross_entropy(m(d['x_train'][:128]), d['y_train'][:128]).backward(); opt.step()\n"
        "print(run.process_age())\n"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def torch_optim_construction() -> float:
    """Seconds to construct the first ``torch.optim.Adam`` in a fresh process (it imports
    ``torch._dynamo``): the cost ``warmstart.optim`` avoids in every training job."""
    code = "import time, torch\nt = time.perf_counter()\ntorch.optim.Adam([torch.zeros(1)])\nprint(time.perf_counter() - t)\n"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def dag_scale(config: str) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--quiet", "rules", "--configfile", config],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t
    total = next(int(line.split()[-1]) for line in out.stdout.splitlines() if line.startswith("total"))
    return {"config": config, "dry_run_s": seconds, "jobs": total}


def epochs_needed(config_file: Path) -> dict:
    """Training epochs the study executes (runs shared across experiments, snapshots instead of
    repeated pretraining) against running each experiment's runs on its own."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, ROOT / "workflow/schemas/config.schema.yaml")
    shared = experiments.build(config)
    executed = sum(r["epochs"] for r in shared.runs.values())
    alone = 0
    for name in experiments.EXPERIMENTS:
        if config["experiments"].get(name, {}).get("enabled"):
            only = dict(config, experiments={name: config["experiments"][name]}, diagnostics={"enabled": False})
            t = experiments.build(only)
            # without snapshots every warm start from a shorter pretraining would need its own pretraining run
            alone += sum(r["epochs"] for r in t.runs.values()) + sum(r["parent_epoch"] or 0 for r in t.runs.values())
    return {"executed_epochs": executed, "epochs_if_experiments_ran_alone": alone, "runs": len(shared.runs)}


def study_overhead(results: Path, wall_s: float | None) -> dict:
    """A finished study: its training jobs (shards) against its runs, the sum of the shards'
    pure training time (``provenance.json``, once per shard) against its wall time on 2 cores,
    and the median time from a job's process start to its first training step."""
    prov = [json.loads(p.read_text()) for p in (results / "runs").rglob("provenance.json")]
    shards = {p["shard"]["name"]: p["seconds"] for p in prov if "shard" in p}
    out = {"runs": len(prov), "training_jobs": len(shards), "sum_train_s": sum(s["train_shard"] for s in shards.values())}
    if shards:
        out["median_start_to_first_step_s"] = statistics.median(s["start_to_first_step"] for s in shards.values())
    if wall_s and len(shards) and all("shard" in p for p in prov):
        out |= {"wall_s": wall_s, "non_training_share_on_2_cores": 1 - out["sum_train_s"] / (2 * wall_s)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--study", type=Path, help="results/ of a finished study, for its overheads")
    ap.add_argument("--study-wall", type=float, help="its measured wall time in seconds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.pt"
        datasets.save(datasets.prepare("mnist1d"), data_file)
        d = datasets.load(data_file)
        report = {
            "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()},
            "cpu_throughput_mnist1d": cpu_throughput(d, args.epochs, args.repeats),
            "start_to_first_step_s": statistics.median(start_to_first_step(data_file) for _ in range(args.repeats)),
            "torch_optim_first_construction_s": statistics.median(torch_optim_construction() for _ in range(args.repeats)),
        }
    report["dag"] = [dag_scale("config.yaml"), dag_scale("configs/cifar10.yaml")]
    report["epochs"] = epochs_needed(ROOT / "config.yaml")
    if args.study:
        report["study"] = study_overhead(args.study, args.study_wall)
    if torch.cuda.is_available():
        report["gpu"] = gpu_throughput(compile=False) + gpu_throughput(compile=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
