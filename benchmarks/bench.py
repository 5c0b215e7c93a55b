"""Speed of the project's training step against a plain PyTorch loop, and the pipeline's overheads.

    python benchmarks/bench.py                 # CPU throughput, start-up, DAG scale, epochs
    python benchmarks/bench.py --study results # also: a finished study's wall time vs its training time
    python benchmarks/bench.py --gpu-only gpu.json  # only the GPU section (ResNet-18, CIFAR-shaped tensors)

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


def evaluation_cost(d: dict, S: int = 16, epochs: int = 60, rule: tuple[float, int] = (0.99, 5), repeats: int = 1) -> dict:
    """A default-shaped tuning shard (``S`` seeds of the MLP 100-100 from fresh initialisations,
    Adam at the default rate, the protocol's stopping rule ``rule`` with an ``epochs`` cap) trained
    with every epoch evaluated in full (``curves``) and with the lean evaluation (the training data
    screened in chunks, the test set where an epoch can be read), interleaved, median seconds of
    ``repeats``; and whether the two read every seed alike (``tables.read_out``)."""
    import pandas as pd  # noqa: PLC0415

    from warmstart.tables import read_out  # noqa: PLC0415

    n, seconds, frames = len(d["y_train"]), {True: [], False: []}, {}
    for r in range(repeats):
        for curves in (True, False):
            models = [build_model("mlp", d["meta"]["input_shape"], 10, seed=100 * r + i, width=100, depth=2) for i in range(S)]
            t = time.perf_counter()
            out = T.train(models, d, T.shuffled(torch.arange(n)), optimizer="adam", lr=0.004, epochs=epochs, batch_size=128,
                          order_seeds=[[100 * r + i, 1] for i in range(S)], stop_train_acc=rule[0], stop_consecutive=rule[1],
                          curves=curves)  # fmt: skip
            seconds[curves].append(time.perf_counter() - t)
            frames[curves] = pd.DataFrame([m | {"run": i} for i, (ms, _) in enumerate(out) for m in ms])
    stops = {i: {"train_acc": rule[0], "consecutive": rule[1]} for i in range(S)}
    full, lean = read_out(frames[True], stops), read_out(frames[False], stops)
    f, le = statistics.median(seconds[True]), statistics.median(seconds[False])
    return {"S": S, "cap": epochs, "rule": list(rule), "full_s": f, "lean_s": le, "lean_over_full": le / f,
            "read_out_identical": bool(full.equals(lean)), "fitted": int(full.fitted.sum()),
            "mean_epochs": float(full.epochs.mean())}  # fmt: skip


def training_flops_per_example(name: str, shape: tuple[int, ...], **kw) -> float:
    """FLOPs of one training example (forward and backward, as ``torch.utils.flop_counter`` counts
    matrix products and convolutions: 2 per multiply-add), measured on a batch of 128."""
    from torch.utils.flop_counter import FlopCounterMode

    model, x = build_model(name, shape, 10, seed=0, **kw), torch.randn(128, *shape)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), torch.zeros(128, dtype=torch.long)).backward()
    return counter.get_total_flops() / 128


def gemm_ceiling(S: int = 16, B: int = 128, dims: tuple[int, ...] = (40, 100, 100, 10), repeats: int = 3) -> dict:
    """GFLOP/s of one thread on the stacked MLP's own products, in fp32 and bf16: for each layer
    ``(S, B, d_in) @ (S, d_in, d_out)`` (``torch.bmm``, as ``vmap`` runs a stacked ``Linear``),
    timed over 2,000 calls, the median of ``repeats``; FLOPs ``2·S·B·d_in·d_out`` per call."""
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        pairs = [(torch.randn(S, B, a, dtype=dtype), torch.randn(S, a, b, dtype=dtype)) for a, b in zip(dims, dims[1:])]
        flops = sum(2 * S * B * a * b for a, b in zip(dims, dims[1:]))
        rates = []
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(2000):
                for x, w in pairs:
                    torch.bmm(x, w)
            rates.append(2000 * flops / (time.perf_counter() - t) / 1e9)
        out[str(dtype).removeprefix("torch.")] = statistics.median(rates)
    return out


GPU_VARIANTS = (  # (loop, seeds S, bf16, channels_last, compile): the plain fp32 loop is the reference
    ("plain", 1, False, False, False),
    ("plain", 1, True, True, False),
    ("ours", 1, False, False, False),
    ("ours", 1, True, True, False),
    ("ours", 4, True, True, False),
    ("ours", 8, True, True, False),
    ("ours", 16, True, True, False),
    ("ours", 1, True, True, True),
    ("ours", 8, True, True, True),
)


def gpu_throughput(n: int = 10_000, epochs: int = 2, device: str = "cuda", variants=GPU_VARIANTS, report=None,
                   width: int = 64) -> list[dict]:  # fmt: skip
    """ResNet-18 (``width`` 64, CIFAR stem) on CIFAR-shaped random data resident on the device, batch
    128, Adam: images per second of the plain loop (``plain_epoch``, one model) and of the
    project's shard training of S seeds (``train``: its per-epoch test pass on 1,000 images
    included; S seeds count S images per example), each with or without bf16 autocast,
    channels_last and ``torch.compile`` (``compile``: ``True``, or a mode of the plain loop's
    ``torch.compile``: ``"reduce-overhead"`` replays the model's forward and backward as CUDA
    graphs), after a warm-up epoch (cuDNN autotuning, compilation: its seconds are reported apart).
    Each row also has the wall-clock ``window`` (``time.time()`` at its timed epochs' start and
    end), from which concurrent processes' aggregate rate is computed. ``report(rows)`` is called
    after each variant (a partial result survives a time limit); a variant that fails is reported
    with its error."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 32, 32, generator=g).to(device), torch.randint(0, 10, (n,), generator=g).to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def run(loop: str, S: int, bf16: bool, cl: bool, compile: bool, e: int) -> None:
        fmt = torch.channels_last if cl else torch.contiguous_format
        models = [build_model("resnet", (3, 32, 32), 10, seed=i, width=width, depth=2).to(device).to(memory_format=fmt) for i in range(S)]
        xs = x.contiguous(memory_format=fmt)
        if loop == "plain":
            opt = torch.optim.Adam(models[0].parameters(), 1e-3)
            forward = torch.compile(models[0], mode=compile if isinstance(compile, str) else None) if compile else models[0]
            for _ in range(e):
                with T.autocast(xs, bf16):
                    plain_epoch(forward, opt, xs, y, 128, torch.Generator().manual_seed(0))
            return
        d = {"x_train": xs, "y_train": y, "x_test": xs[:1000], "y_test": y[:1000]}
        T.train(models, d, T.shuffled(torch.arange(n, device=device)), optimizer="adam", lr=1e-3, epochs=e, batch_size=128,
                order_seeds=[[i, 1] for i in range(S)], bf16=bf16, compile=bool(compile))  # fmt: skip

    rows = []
    for loop, S, bf16, cl, compile in variants:
        row = {"loop": loop, "S": S, "bf16": bf16, "channels_last": cl, "compile": compile}
        try:
            sync()
            t = time.perf_counter()
            run(loop, S, bf16, cl, compile, 1)
            sync()
            row["warmup_epoch_s"] = time.perf_counter() - t
            t, start = time.perf_counter(), time.time()
            run(loop, S, bf16, cl, compile, epochs)
            sync()
            row["images_per_s"] = n * S * epochs / (time.perf_counter() - t)
            row["images"], row["window"] = n * S * epochs, [start, time.time()]
        except Exception as e:  # noqa: BLE001 -- a benchmark reports a variant that fails and goes on
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        if device.startswith("cuda"):
            row["max_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
            torch.cuda.reset_peak_memory_stats()
        rows.append(row)
        ref = next((r.get("images_per_s") for r in rows if r["loop"] == "plain" and not r["bf16"] and not r["compile"]), None)
        for r in rows:
            if ref and "images_per_s" in r:
                r["over_plain_fp32"] = r["images_per_s"] / ref
        if report:
            report(rows)
    return rows


def start_to_first_step(data_file: Path) -> float:
    """A fresh process as a training job starts: imports, data load, model and optimiser, one step."""
    code = (
        "import torch, torch.nn.functional as F\n"
        "from warmstart import data, provenance\nfrom warmstart.models import build_model\nfrom warmstart.optim import Optimizer\n"
        f"d = data.load({str(data_file)!r})\n"
        "m = build_model('mlp', d['meta']['input_shape'], 10, 0, width=100, depth=2)\n"
        "opt = Optimizer('adam', m.parameters(), 1e-3)\n"
        "F.cross_entropy(m(d['x_train'][:128]), d['y_train'][:128]).backward(); opt.step()\n"
        "print(provenance.process_age())\n"
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
            # the others switched off but present: the chain reads the arena's arms
            sections = {k: v if k == name else dict(v, enabled=False) for k, v in config["experiments"].items()}
            only = dict(config, experiments=sections, diagnostics={"enabled": False})
            t = experiments.build(only)
            # without snapshots every warm start from a shorter pretraining would need its own pretraining run
            alone += sum(r["epochs"] for r in t.runs.values()) + sum(r["parent_epoch"] or 0 for r in t.runs.values())
    return {"executed_epochs": executed, "epochs_if_experiments_ran_alone": alone, "runs": len(shared.runs)}


def diagnosis_batching(root: Path, batch: str = "mnist1d/mlp/adam/warm/fraction~0.5/dash-shrink~0.5/seeds~0-7") -> dict:
    """Seconds to diagnose the runs of one of a finished study's ``diagnose`` jobs (the default
    study's ``batch``, in ``root``) as the workflow's jobs do it: one process per run (each
    importing torch and loading the data), against one process for all of them
    (``warmstart.diagnosis.diagnose_batch``), and whether the two give identical rows. Sequential,
    one thread."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, ROOT / "workflow/schemas/config.schema.yaml")
    from warmstart import diagnosis, runs, shards  # noqa: PLC0415

    table = experiments.build(config)
    jobs = table.diagnose_jobs()
    members = shards.partition(sorted(jobs), config["diagnostics"]["runs_per_job"])[batch]
    settings = diagnosis.measurement_settings(config)
    spec = [{"spec": runs.identity(table.runs[r]), "model": str(root / f"results/runs/{r}/model.pt"),
             "seen": str(root / f"results/data/mnist1d/subsets/{jobs[r]['seen']}.pt"),
             "epochs": jobs[r]["epochs"], "noise_epochs": jobs[r]["noise_epochs"]} for r in members]  # fmt: skip
    code = (
        "import json, sys, torch\ntorch.set_num_threads(1)\n"
        "from warmstart.diagnosis import diagnose_batch\nfrom warmstart.runs import from_identity\n"
        "a = json.loads(sys.argv[1])\n"
        "rows = diagnose_batch([dict(j, spec=from_identity(j['spec'])) for j in a['jobs']], a['data'], a['settings'])\n"
        "print(json.dumps(rows))\n"
    )

    def run(jobs_: list[dict]) -> list[dict]:
        arg = json.dumps({"jobs": jobs_, "data": str(root / "results/data/mnist1d/data.pt"), "settings": settings})
        return json.loads(subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, check=True, cwd=ROOT).stdout)

    t = time.perf_counter()
    alone = [row for j in spec for row in run([j])]
    per_run = time.perf_counter() - t
    t = time.perf_counter()
    together = run(spec)
    batched = time.perf_counter() - t
    same = json.dumps(alone) == json.dumps(together)  # as text: NaN equals NaN
    return {"batch": batch, "runs": len(spec), "rows": len(together), "rows_identical": same,
            "one_process_per_run_s": per_run, "one_process_s": batched, "ratio": per_run / batched}  # fmt: skip


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
    ap.add_argument("--gpu-only", type=Path, metavar="JSON", help="only the GPU section, written to JSON after each variant")
    ap.add_argument(
        "--diagnosis", type=Path, metavar="ROOT", help="only diagnosis per run against per job, on the finished default study in ROOT"
    )
    args = ap.parse_args()
    if args.diagnosis:
        print(json.dumps(diagnosis_batching(args.diagnosis), indent=2))
        return
    if args.gpu_only:
        machine = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda}
        gpu_throughput(report=lambda rows: args.gpu_only.write_text(json.dumps({"machine": machine, "gpu": rows}, indent=2)))
        print(args.gpu_only.read_text())
        return
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.pt"
        datasets.save(datasets.prepare("mnist1d"), data_file)
        d = datasets.load(data_file)
        report = {
            "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()},
            "cpu_throughput_mnist1d": cpu_throughput(d, args.epochs, args.repeats),
            "gemm_ceiling_gflops_per_core_s": gemm_ceiling(repeats=args.repeats),
            "start_to_first_step_s": statistics.median(start_to_first_step(data_file) for _ in range(args.repeats)),
            "torch_optim_first_construction_s": statistics.median(torch_optim_construction() for _ in range(args.repeats)),
            "evaluation_mnist1d": evaluation_cost(d),
        }
        shape, n = d["meta"]["input_shape"], len(d["y_train"])
        models = (("mlp", {"width": 100, "depth": 2}), ("cnn", {"width": 32, "depth": 3}))
        flops = {m: training_flops_per_example(m, shape, **kw) for m, kw in models}
        for row in report["cpu_throughput_mnist1d"]:  # achieved arithmetic of the training (evaluation left out) against the ceiling
            row["training_gflops_per_core_s"] = row["model_epochs_per_core_s"] * n * flops[row["model"]] / 1e9
            if row["model"] == "mlp":
                row["share_of_fp32_ceiling"] = row["training_gflops_per_core_s"] / report["gemm_ceiling_gflops_per_core_s"]["float32"]
        report["training_flops_per_example"] = flops
    report["dag"] = [dag_scale("config.yaml"), dag_scale("configs/cifar10.yaml")]
    report["epochs"] = epochs_needed(ROOT / "config.yaml")
    if args.study:
        report["study"] = study_overhead(args.study, args.study_wall)
    if torch.cuda.is_available():
        report["gpu"] = gpu_throughput()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
