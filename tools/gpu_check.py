"""The GPU path measured end to end, in one run that fits a few minutes (``tools/gpu-check.sh``):

* ``shard``: a shard of 4 ResNet-18s (CIFAR stem) against the same seeds trained alone on the
  device, and the shard trained twice: the largest differences, against a stated tolerance;
* ``throughput``: ResNet-18 (batch 128 per model, bf16, channels_last) images per second summed
  over models, for stacked seeds with and without ``torch.compile``, CUDA graphs (the plain loop
  compiled with mode ``reduce-overhead``) and several training processes sharing the device
  (their images over the wall-clock span from the first one's start to the last one's end);
  target >= 40,000 images/s on an H100 or H200;
* ``smoke``: the paper's configuration (``configs/cifar10.yaml`` + ``configs/cifar10-smoke.yaml``) on
  synthetic CIFAR-format data (``tools/synthetic_cifar.py``), every job through to
  ``results/summary.md``;
* ``default``: the default MNIST-1D study (``config.yaml``) on the device, its wall time
  (target <= 5 minutes);
* ``precision``: the fraction experiment's seeds trained in fp32 and in bf16 (two studies of that
  experiment alone): the gap at each fraction in each precision with its interval, and the paired
  difference of the two gaps seed by seed with its equivalence test at +-0.5 points (TOST, Holm
  over the fractions).

Each part runs under its own time budget (a study cut short reports how many of its jobs
finished), and the JSON is rewritten after each part, so a part that fails or runs out of time
leaves the others. ``--rehearse`` runs the same parts on the CPU at toy sizes (the tiny configs,
a narrow ResNet, a few hundred images): the tests run it, so that GPU time goes to measuring.

    tools/gpu-check.sh OUT_DIR                  # on a GPU machine: OUT_DIR/gpu-check.json
    python tools/gpu_check.py OUT --rehearse    # the rehearsal on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

from warmstart import stats  # noqa: E402
from warmstart.data import write_synthetic_cifar  # noqa: E402
from warmstart.models import build_model  # noqa: E402
from warmstart.train import shuffled, train  # noqa: E402

PARTS = ("shard", "throughput", "smoke", "default", "precision")
DEFAULT_PARTS = PARTS[:4]  # 460 s of budgets: one 8-minute run; the precision check is a second run (--parts precision)
# seconds per part on a GPU; the rehearsal's get 4x (2 CPU cores) and take seconds to a minute
BUDGET = {"shard": 30, "throughput": 80, "smoke": 80, "default": 270, "precision": 400}
MARGIN = 0.5  # points: the verdict rules' equivalence margin
SHARD_TOLERANCE = {"loss": 0.05, "acc_points": 1.0}  # per seed, after 2 epochs; stated before measuring


def sizes(rehearse: bool) -> dict:
    """Problem sizes: the real ones, or toy ones for the rehearsal on a CPU, which also leaves out
    ``torch.compile`` (its compilation takes 60-90 s per variant on a CPU; compiled training is
    tested against eager in tests/test_train.py)."""
    if rehearse:
        return {"device": "cpu", "width": 4, "n": 128, "processes": 2, "synthetic": (256, 128), "cores": 2, "gpu_jobs": 1, "compile": False}
    return {
        "compile": True,
        "device": "cuda",
        "width": 64,
        "n": 10_000,
        "processes": 4,
        "synthetic": (10_000, 2_000),
        "cores": os.cpu_count(),
        "gpu_jobs": 8,
    }


def shard_check(z: dict) -> dict:
    """A shard of 4 seeds against each seed alone, and the shard twice (fp32, 2 epochs): the largest
    per-seed difference in loss and accuracy (points) over every logged row, and whether the
    shard's two trainings are bit-identical."""
    g = torch.Generator().manual_seed(0)
    n = max(512, z["n"] // 5)
    x, y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    d = {k: v.to(z["device"]) for k, v in {"x_train": x, "y_train": y, "x_test": x[: n // 4], "y_test": y[: n // 4]}.items()}
    seeds = [0, 1, 2, 3]

    def fit(ss: list[int]) -> list[list[dict]]:
        models = [build_model("resnet", (3, 32, 32), 10, seed=s, width=z["width"], depth=2).to(z["device"]) for s in ss]
        out = train(models, d, shuffled(torch.arange(n, device=z["device"])), optimizer="adam", lr=1e-3, epochs=2,
                    batch_size=128, order_seeds=[[s, 1] for s in ss])  # fmt: skip
        return [m for m, _ in out]

    shard, again = fit(seeds), fit(seeds)
    alone = [fit([s])[0] for s in seeds]
    loss = max(abs(a["loss"] - b["loss"]) for sm, am in zip(shard, alone) for a, b in zip(sm, am, strict=True))
    acc = 100 * max(abs(a["acc"] - b["acc"]) for sm, am in zip(shard, alone) for a, b in zip(sm, am, strict=True))
    return {"seeds": len(seeds), "examples": n, "max_loss_diff": loss, "max_acc_diff_points": acc, "tolerance": SHARD_TOLERANCE,
            "within_tolerance": loss <= SHARD_TOLERANCE["loss"] and acc <= SHARD_TOLERANCE["acc_points"],
            "shard_twice_identical": shard == again}  # fmt: skip


THROUGHPUT = (  # (loop, seeds, bf16, channels_last, compile)
    ("plain", 1, True, True, False),
    ("ours", 8, True, True, False),
    ("ours", 8, True, True, True),
    ("plain", 1, True, True, "reduce-overhead"),
)


def throughput(z: dict, out: Path) -> dict:
    """Images per second of ``THROUGHPUT``'s variants in this process, then of ``processes`` copies
    of the plain bf16 loop at once (``worker``): their images over the span of their windows."""
    variants = [v if z["compile"] else (*v[:4], False) for v in THROUGHPUT]
    rows = bench.gpu_throughput(n=z["n"], epochs=2, device=z["device"], variants=variants, width=z["width"])
    files = [out / f"worker-{i}.json" for i in range(z["processes"])]
    procs = [
        subprocess.Popen([sys.executable, __file__, str(f), "--worker", *(["--rehearse"] if z["device"] == "cpu" else [])]) for f in files
    ]
    for p in procs:
        p.wait()
    workers = [json.loads(f.read_text())[0] for f in files if f.exists()]
    timed = [w for w in workers if "window" in w]
    shared = {"processes": len(procs), "finished": len(timed), "errors": [w["error"] for w in workers if "error" in w]}
    if timed:
        span = max(w["window"][1] for w in timed) - min(w["window"][0] for w in timed)
        shared["images_per_s"] = sum(w["images"] for w in timed) / span
    best = max([r.get("images_per_s", 0) for r in rows] + [shared.get("images_per_s", 0)])
    return {"variants": rows, "processes_sharing_the_device": shared, "best_images_per_s": best, "target_images_per_s": 40_000}


def study(name: str, configs: list[Path], z: dict, work: Path, budget: float, out: Path) -> dict:
    """``snakemake`` on ``configs`` in ``work`` within ``budget`` seconds (the whole process group
    is stopped at the limit): wall time, exit status, jobs finished of those planned, and whether
    ``results/summary.md`` was written. Its log goes to ``out/<name>.log``."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work), "--cores", str(z["cores"]),
           "--resources", f"gpu={z['gpu_jobs']}", "--configfile", *map(str, configs)]  # fmt: skip
    log = out / f"{name}.log"
    t = time.perf_counter()
    with log.open("w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        try:
            rc, timed_out = p.wait(timeout=budget), False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            rc, timed_out = p.wait(), True
    text = log.read_text()
    done = text.count("Finished jobid")
    planned = next((int(line.split()[-1]) for line in text.splitlines() if line.startswith("total ")), None)
    return {"wall_s": time.perf_counter() - t, "rc": rc, "timed_out": timed_out, "jobs_finished": done, "jobs_planned": planned,
            "summary_written": (work / "results/summary.md").exists()}  # fmt: skip


def override(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def only_fraction(precision: str, z: dict, rehearse: bool) -> dict:
    """The fraction experiment alone (every other experiment and the diagnostics off) in ``precision``."""
    base = yaml.safe_load((ROOT / ("configs/tiny.yaml" if rehearse else "config.yaml")).read_text())
    every = yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"]
    return {"train": {"device": z["device"], "precision": precision}, "diagnostics": {"enabled": False},
            "experiments": {k: {"enabled": k == "fraction"} for k in every} | {"fraction": base["experiments"]["fraction"]}}  # fmt: skip


def gaps(final: Path) -> pd.DataFrame:
    """Per fraction and seed: fresh minus warm test accuracy in points, from a study's ``final.csv``."""
    f = pd.read_csv(final)
    f = f[f.experiment == "fraction"].pivot_table(index=["condition", "seed"], columns="arm", values="final_test_acc")
    return (100 * (f["fresh"] - f["warm"])).rename("gap").reset_index()


def precision_check(fp32: Path, bf16: Path) -> dict:
    """The fraction experiment's gap in each precision (mean and 95% interval) and the paired
    difference bf16 - fp32, seed by seed, with TOST at ``MARGIN`` points, Holm over the fractions."""
    a, b = gaps(fp32), gaps(bf16)
    m = a.merge(b, on=["condition", "seed"], suffixes=("_fp32", "_bf16"))
    rows = []
    for cond, g in m.groupby("condition"):
        t = stats.paired_tests(g.gap_bf16.to_numpy() - g.gap_fp32.to_numpy(), MARGIN)
        rows.append({"condition": cond, "seeds": len(g), "gap_fp32": stats.mean_ci(g.gap_fp32.to_numpy()),
                     "gap_bf16": stats.mean_ci(g.gap_bf16.to_numpy()), "difference": t})  # fmt: skip
    holm = stats.holm(np.array([r["difference"]["p_equivalent"] for r in rows]))
    for r, p in zip(rows, holm, strict=True):
        r["p_equivalent_holm"] = float(p)
        r["equivalent"] = bool(p < 0.05)
    return {"margin_points": MARGIN, "fractions": rows, "all_equivalent": all(r["equivalent"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for gpu-check.json and the studies' logs")
    ap.add_argument("--rehearse", action="store_true", help="the same parts on the CPU at toy sizes")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(DEFAULT_PARTS))
    ap.add_argument("--work", type=Path, help="where the studies run (default: a temporary folder)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    z = sizes(a.rehearse)
    if a.worker:  # one of the processes sharing the device
        rows = bench.gpu_throughput(n=z["n"], epochs=3, device=z["device"], variants=THROUGHPUT[:1], width=z["width"])
        a.out.write_text(json.dumps(rows))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    work = a.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    machine = {"device": torch.cuda.get_device_name() if z["device"] == "cuda" else "cpu (rehearsal)", "torch": torch.__version__,
               "cuda": torch.version.cuda, "cpus": os.cpu_count(), "rehearsal": a.rehearse}  # fmt: skip
    report: dict = {"machine": machine}
    scale = 4 if a.rehearse else 1  # the rehearsal's studies run on 2 CPU cores
    for part in a.parts:
        t = time.perf_counter()
        try:
            if part == "shard":
                report[part] = shard_check(z)
            elif part == "throughput":
                report[part] = throughput(z, a.out)
            elif part == "smoke":
                data = work / "smoke" / "data-smoke"
                write_synthetic_cifar(data, "cifar10", *z["synthetic"])
                extra = [override(work / "smoke.yaml", {"dataset": {"root": str(data)}} | rehearsal_smoke(a.rehearse))]
                report[part] = study(part, [ROOT / "configs/cifar10.yaml", ROOT / "configs/cifar10-smoke.yaml", *extra], z,
                                     work / "smoke", BUDGET[part] * scale, a.out)  # fmt: skip
            elif part == "default":  # the rehearsal: the tiny study's fraction experiment
                cfg = only_fraction("fp32", z, True) if a.rehearse else {"train": {"device": z["device"]}}
                configs = [ROOT / "configs/tiny.yaml"] if a.rehearse else []
                report[part] = study(
                    part, [*configs, override(work / "default.yaml", cfg)], z, work / "default", BUDGET[part] * scale, a.out
                )
                report[part]["target_s"] = 300
            elif part == "precision":
                runs = {}
                # the rehearsal's default study is its fp32 study: run in the same folder, it is found done
                dirs = {"fp32": work / ("default" if a.rehearse else "precision-fp32"), "bf16": work / "precision-bf16"}
                for p, folder in dirs.items():
                    cfg = override(work / f"precision-{p}.yaml", only_fraction(p, z, a.rehearse))
                    configs = [ROOT / "configs/tiny.yaml"] if a.rehearse else []
                    runs[p] = study(f"precision-{p}", [*configs, cfg], z, folder, BUDGET[part] * scale / 2, a.out)
                report[part] = {"studies": runs} | precision_check(*(d / "results/tables/final.csv" for d in dirs.values()))
        except Exception as e:  # noqa: BLE001 -- a part that fails is reported and the others go on
            report[part] = {"error": f"{type(e).__name__}: {e}"[:500]}
        report[part]["part_s"] = time.perf_counter() - t
        (a.out / "gpu-check.json").write_text(json.dumps(report, indent=2, default=float))
    print(json.dumps(report, indent=2, default=float))


def rehearsal_smoke(rehearse: bool) -> dict:
    """On a CPU, the smoke study on a narrow ResNet, with two of its experiments and the least
    diagnostics: the rehearsal checks the paths, not the paper's configuration's every job (the
    GPU run does)."""
    if not rehearse:
        return {}
    every = yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"]
    arms = [{"name": "l2_init", "strength": 0.0001}, {"name": "reset", "units": "head", "mode": "resample"}]
    return {"model": {"width": 4}, "train": {"device": "cpu", "threads": 1, "precision": "fp32", "channels_last": False},
            "diagnostics": {"subset": 10, "hessian": {"top_k": 1, "lanczos_iters": 2, "trace_samples": 0}},
            "experiments": {k: {"enabled": k == "fraction"} for k in every}
            | {"arena": {"enabled": True, "diagnostics_seeds": 2, "arms": arms}}}  # fmt: skip


if __name__ == "__main__":
    main()
