"""The GPU path measured end to end, in one run of at most 8 minutes (``tools/gpu-check.sh``):

* ``shard``: a shard of 4 ResNet-18s (CIFAR stem) on learnable synthetic images against the same
  seeds trained alone on the device, judged against a tolerance stated before measuring and
  against the shard's own difference from a second training of it; and whether the shard
  trained twice logs identical metrics, in fp32 and in bf16;
* ``default``: the default MNIST-1D study (``config.yaml``) on the device, its wall time
  (target <= 5 minutes);
* ``smoke``: the paper's configuration (``configs/cifar10.yaml`` + ``configs/cifar10-smoke.yaml``) on
  synthetic CIFAR-format data (``tools/synthetic_cifar.py``), smaller than the smoke file's, every
  job through to ``results/summary.md``;
* ``throughput``: ResNet-18 (batch 128 per model, bf16, channels_last) images per second summed
  over models: the plain loop, stacked seeds with and without ``torch.compile``, CUDA graphs (the
  plain loop compiled with mode ``reduce-overhead``; Inductor's count of graphs it skipped is
  recorded), and several processes each training a shard of 2 seeds on the device at once (their
  images over the wall-clock span from the first one's start to the last one's end); target
  >= 40,000 images/s on an H100 or H200;
* ``precision`` (a run of its own, ``--parts precision``): the fraction experiment's seeds in fp32
  and in bf16: the gap at each fraction in each precision with its interval, and the paired
  difference of the two gaps seed by seed with its equivalence test at +-0.5 points (TOST, Holm
  over the fractions). The default study of the same run, if it finished, is its arm in the
  default's precision (bf16 on a GPU), so only the other is trained.

Every part gets the smaller of its budget and the time left before the limit (``--limit``, the
environment's ``GPU_CHECK_LIMIT``, 480 s); a study cut short is stopped with its whole process
group and reports how many of its jobs finished; the JSON is rewritten after each part and when
the run is stopped (SIGTERM), so the parts done survive. ``--rehearse`` runs the same parts on the
CPU at toy sizes (the tiny configs, a narrow ResNet, a few hundred images, no compilation): the
tests run it, so that GPU time goes to measuring.

    tools/gpu-check.sh OUT_DIR                         # on a GPU machine: OUT_DIR/gpu-check.json
    tools/gpu-check.sh OUT_DIR --parts default precision
    tools/gpu-check.sh OUT_DIR --rehearse              # the rehearsal on a CPU
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

START = time.time()  # before the imports below (torch: seconds)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

from warmstart import stats  # noqa: E402
from warmstart.atomic import atomic_write_text  # noqa: E402
from warmstart.data import write_synthetic_cifar  # noqa: E402
from warmstart.models import build_model  # noqa: E402
from warmstart.train import shuffled, train  # noqa: E402

PARTS = ("shard", "default", "smoke", "throughput", "precision")
DEFAULT_PARTS = PARTS[:4]  # one 8-minute run
# seconds per part on a GPU (the first four: 435 s of the 480 less the 45 s kept to stop a study and
# write the JSON); the rehearsal's get 4x (2 CPU cores)
BUDGET = {"shard": 25, "default": 270, "smoke": 60, "throughput": 80, "precision": 420}
MARGIN_S = 45  # kept before the limit: a study stopped (10 s grace), the JSON written
COMPILE_S = 90  # a compiled variant is started only with this much of the part left (compilation takes 50-65 s on an H100)
MARGIN = 0.5  # points: the verdict rules' equivalence margin
# per seed and logged row, float64, over 3 epochs (tests/test_shards.py: 4e-16 in loss on a CPU); stated before the GPU measures
SHARD_TOLERANCE = {"loss": 1e-6, "acc_points": 0.0}
EVERY = list(yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"])  # every experiment's config section
RUNNING: list[subprocess.Popen] = []  # the study under way, stopped with the run
STOPPING: list[bool] = []  # set by the first SIGTERM


class Stopped(BaseException):
    """The run was stopped (SIGTERM from the time limit) outside a study: not an ``Exception``, so
    that no ``except Exception`` on the way (a benchmark's per-variant one) swallows it."""


def sizes(rehearse: bool) -> dict:
    """Problem sizes: the real ones, or toy ones for the rehearsal on a CPU, which also leaves out
    ``torch.compile`` (its compilation takes 60-90 s per variant on a CPU; compiled training is
    tested against eager in tests/test_train.py)."""
    if rehearse:
        return {"device": "cpu", "width": 4, "n": 128, "processes": 2, "synthetic": (256, 128), "cores": 2, "gpu_jobs": 2,
                "compile": False, "scale": 4}  # fmt: skip
    return {"device": "cuda", "width": 64, "n": 10_000, "processes": 4, "synthetic": (2_000, 500), "cores": os.cpu_count(),
            "gpu_jobs": os.cpu_count(), "compile": True, "scale": 1}  # fmt: skip


def learnable(n: int, device: str) -> dict:
    """``n`` images of 10 classes, each its class's fixed pattern plus noise (learnable, not at once),
    the first quarter also the test set."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(10, 3, 32, 32, generator=g)[y] + torch.randn(n, 3, 32, 32, generator=g)
    return {k: v.to(device) for k, v in {"x_train": x, "y_train": y, "x_test": x[: n // 4], "y_test": y[: n // 4]}.items()}


def largest_differences(a: list[list[dict]], b: list[list[dict]]) -> dict:
    """The largest difference in loss and in accuracy (points) between two trainings' logged rows, seed by seed."""
    pairs = [(x, y) for sa, sb in zip(a, b, strict=True) for x, y in zip(sa, sb, strict=True)]
    return {"loss": max(abs(x["loss"] - y["loss"]) for x, y in pairs), "acc_points": 100 * max(abs(x["acc"] - y["acc"]) for x, y in pairs)}


def shard_check(z: dict) -> dict:
    """A shard of 4 seeds against each seed alone, in float64 (3 epochs, batch 64, Adam 3e-3: the
    images are learnt, so that a seed given another's state or gradient shows): the largest
    per-seed differences against ``SHARD_TOLERANCE``. In float64 as in tests/test_shards.py: in
    fp32 a stacked ResNet's batched convolutions round unlike single ones and training amplifies
    it (measured on the CPU rehearsal: 5.5 points of test accuracy apart after 3 epochs, 7 of 128
    examples), which says nothing about the stacking. Also whether the shard trained twice logs
    identical metrics in fp32 and in bf16 (nothing in the library asks cuDNN for deterministic
    algorithms: this measures the device's defaults)."""
    n = max(512, z["n"] // 5)
    d, seeds = learnable(n, z["device"]), [0, 1, 2, 3]

    def fit(ss: list[int], dtype: torch.dtype = torch.float32, bf16: bool = False) -> list[list[dict]]:
        models = [build_model("resnet", (3, 32, 32), 10, seed=s, width=z["width"], depth=2).to(z["device"], dtype) for s in ss]
        data = {k: v.to(dtype) if v.is_floating_point() else v for k, v in d.items()}
        out = train(models, data, shuffled(torch.arange(n, device=z["device"])), optimizer="adam", lr=3e-3, epochs=3,
                    batch_size=64, order_seeds=[[s, 1] for s in ss], bf16=bf16)  # fmt: skip
        return [m for m, _ in out]

    shard = fit(seeds, torch.float64)
    vs_alone = largest_differences(shard, [fit([s], torch.float64)[0] for s in seeds])
    final = [max(r["acc"] for r in m if r["split"] == "test") for m in shard]
    return {"seeds": len(seeds), "examples": n, "dtype": "float64", "best_test_acc": final, "vs_alone": vs_alone,
            "tolerance": SHARD_TOLERANCE, "within_tolerance": all(vs_alone[k] <= SHARD_TOLERANCE[k] for k in SHARD_TOLERANCE),
            "twice_identical": {"fp32": fit(seeds) == fit(seeds), "bf16": fit(seeds, bf16=True) == fit(seeds, bf16=True)}}  # fmt: skip


THROUGHPUT = (  # (loop, seeds, bf16, channels_last, compile)
    ("plain", 1, True, True, False),
    ("ours", 8, True, True, False),
    ("ours", 8, True, True, True),
    ("plain", 1, True, True, "reduce-overhead"),
)
WORKER = ("ours", 2, True, True, False)  # what each of the processes sharing the device trains


def throughput(z: dict, out: Path, deadline: float) -> dict:
    """Images per second of ``THROUGHPUT``'s eager variants in this process, then of ``processes``
    processes training ``WORKER`` at once (their images over the span of their timed windows), then
    the compiled variants, each only while the part's time allows (``COMPILE_S`` for a compiled one)."""
    from torch._dynamo.utils import counters  # noqa: PLC0415 (only where compilation runs)

    rows = []
    variants = [v if z["compile"] else (*v[:4], False) for v in THROUGHPUT]
    for v in [v for v in variants if not v[4]]:
        rows.append(bench.gpu_throughput(n=z["n"], epochs=2, device=z["device"], variants=[v], width=z["width"])[0])
    shared = workers(z, out, deadline)
    for v in [v for v in variants if v[4]]:
        if time.monotonic() > deadline - COMPILE_S:
            rows.append({"variant": list(v), "skipped": "no time left"})
            continue
        before = counters["inductor"]["cudagraph_skips"]
        (row,) = bench.gpu_throughput(n=z["n"], epochs=2, device=z["device"], variants=[v], width=z["width"])
        rows.append(row | ({"cudagraph_skips": counters["inductor"]["cudagraph_skips"] - before} if v[4] == "reduce-overhead" else {}))
    best = max([r.get("images_per_s", 0) for r in rows] + [shared.get("images_per_s", 0)])
    return {"variants": rows, "processes_sharing_the_device": shared, "best_images_per_s": best, "target_images_per_s": 40_000}


def workers(z: dict, out: Path, deadline: float) -> dict:
    """``processes`` processes training ``WORKER`` on the device at once: their images over the span
    from the first one's timed start to the last one's end (a worker cut off counts nothing)."""
    files = [out / f"worker-{i}.json" for i in range(z["processes"])]
    for f in files:
        f.unlink(missing_ok=True)
    shared: dict = {"processes": len(files), "seeds_each": WORKER[1]}
    if time.monotonic() > deadline - 30:
        return shared | {"skipped": "no time left"}
    flag = ["--rehearse"] if z["device"] == "cpu" else []
    procs = [subprocess.Popen([sys.executable, __file__, str(f), "--worker", *flag]) for f in files]
    for p in procs:
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    rows = []
    for f in files:
        try:
            rows.append(json.loads(f.read_text())[0])
        except (OSError, ValueError, IndexError):
            pass  # killed before it wrote its row
    timed = [w for w in rows if "window" in w]
    shared |= {"finished": len(timed), "errors": [w["error"] for w in rows if "error" in w]}
    if timed:
        span = max(w["window"][1] for w in timed) - min(w["window"][0] for w in timed)
        shared["images_per_s"] = sum(w["images"] for w in timed) / span
    return shared


def stop(p: subprocess.Popen) -> None:
    """Stop the process group of ``p``: SIGTERM (Snakemake stops its jobs), SIGKILL after 10 s."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass


def study(name: str, configs: list[Path], z: dict, work: Path, budget: float, out: Path) -> dict:
    """``snakemake`` on ``configs`` in ``work`` within ``budget`` seconds (its whole process group is
    stopped at the limit): wall time, exit status, jobs finished of those planned, and whether
    ``results/summary.md`` was written. Its log goes to ``out/<name>.log``."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work), "--cores", str(z["cores"]),
           "--resources", f"gpu={z['gpu_jobs']}", "--configfile", *map(str, configs)]  # fmt: skip
    log = out / f"{name}.log"
    t = time.perf_counter()
    with log.open("w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        RUNNING.append(p)
        try:
            timed_out, end = False, time.monotonic() + budget
            while p.poll() is None:
                if STOPPING or time.monotonic() > end:
                    timed_out = not STOPPING
                    stop(p)
                    break
                time.sleep(0.5)
            rc = p.returncode
        finally:
            RUNNING.remove(p)
    text, wall = log.read_text(), time.perf_counter() - t
    planned = next((int(line.split()[-1]) for line in text.splitlines() if line.startswith("total ")), None)
    done = text.count("Finished jobid")
    return {"wall_s": wall, "rc": rc, "timed_out": timed_out, "stopped_by_limit": bool(STOPPING), "jobs_finished": done,
            "jobs_planned": planned, "jobs_per_s": done / wall, "summary_written": (work / "results/summary.md").exists()}  # fmt: skip


def config_file(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def only_fraction(precision: str, z: dict, rehearse: bool) -> dict:
    """The fraction experiment alone (every other experiment and the diagnostics off) in ``precision``."""
    base = yaml.safe_load((ROOT / ("configs/tiny.yaml" if rehearse else "config.yaml")).read_text())
    return {"train": {"device": z["device"], "precision": precision}, "diagnostics": {"enabled": False},
            "experiments": {k: {"enabled": k == "fraction"} for k in EVERY} | {"fraction": base["experiments"]["fraction"]}}  # fmt: skip


def gaps(final: Path) -> pd.DataFrame:
    """Per fraction and seed: fresh minus warm test accuracy in points, from a study's ``final.csv``."""
    f = pd.read_csv(final)
    f = f[f.experiment == "fraction"].pivot_table(index=["condition", "seed"], columns="arm", values="final_test_acc")
    return (100 * (f["fresh"] - f["warm"])).rename("gap").reset_index()


def precision_check(fp32: Path, bf16: Path) -> dict:
    """The fraction experiment's gap in each precision (mean and 95% interval) and the paired
    difference bf16 - fp32, seed by seed, with TOST at ``MARGIN`` points, Holm over the fractions."""
    m = gaps(fp32).merge(gaps(bf16), on=["condition", "seed"], suffixes=("_fp32", "_bf16"))
    rows = []
    for cond, g in m.groupby("condition"):
        t = stats.paired_tests(g.gap_bf16.to_numpy() - g.gap_fp32.to_numpy(), MARGIN)
        rows.append({"condition": cond, "seeds": len(g), "gap_fp32": stats.mean_ci(g.gap_fp32.to_numpy()),
                     "gap_bf16": stats.mean_ci(g.gap_bf16.to_numpy()), "difference": t})  # fmt: skip
    for r, p in zip(rows, stats.holm(np.array([r["difference"]["p_equivalent"] for r in rows])), strict=True):
        r["p_equivalent_holm"], r["equivalent"] = float(p), bool(p < 0.05)
    return {"margin_points": MARGIN, "fractions": rows, "all_equivalent": all(r["equivalent"] for r in rows)}


def smoke_config(z: dict, data: Path, rehearse: bool) -> dict:
    """Over the paper's configuration and its smoke file: the synthetic data; on a GPU 2 threads
    per job (8 jobs at once on 16 cores); in the rehearsal a narrow ResNet on the CPU with two of
    its experiments and the least diagnostics (it checks the paths; the GPU run has every job)."""
    if not rehearse:
        return {"dataset": {"root": str(data)}, "train": {"threads": 2}}
    arms = [{"name": "l2_init", "strength": 0.0001}, {"name": "reset", "units": "head", "mode": "resample"}]
    return {"dataset": {"root": str(data)}, "model": {"width": 4},
            "train": {"device": "cpu", "threads": 1, "precision": "fp32", "channels_last": False},
            "diagnostics": {"subset": 10, "hessian": {"top_k": 1, "lanczos_iters": 2, "trace_samples": 0}},
            "experiments": {k: {"enabled": k == "fraction"} for k in EVERY}
            | {"arena": {"enabled": True, "diagnostics_seeds": 2, "arms": arms}}}  # fmt: skip


def run_part(part: str, z: dict, a: argparse.Namespace, work: Path, report: dict, budget: float, deadline: float) -> dict:
    tiny = [ROOT / "configs/tiny.yaml"] if a.rehearse else []
    if part == "shard":
        return shard_check(z)
    if part == "throughput":
        return throughput(z, a.out, deadline)
    if part == "smoke":
        data = work / "smoke-data"
        write_synthetic_cifar(data, "cifar10", *z["synthetic"])
        configs = [
            ROOT / "configs/cifar10.yaml",
            ROOT / "configs/cifar10-smoke.yaml",
            config_file(work / "smoke.yaml", smoke_config(z, data, a.rehearse)),
        ]
        return study(part, configs, z, work / "smoke", budget, a.out)
    if part == "default":  # the rehearsal: the tiny study's fraction experiment
        cfg = only_fraction("fp32", z, True) if a.rehearse else {"train": {"device": z["device"]}}
        return study(part, [*tiny, config_file(work / "default.yaml", cfg)], z, work / "default", budget, a.out) | {"target_s": 300}
    # precision: the default study of this run, if finished, is the arm in the precision it trained in
    folders = {p: work / f"precision-{p}" for p in ("fp32", "bf16")}
    if report.get("default", {}).get("summary_written"):
        trained = json.loads(next((work / "default/results/runs").rglob("provenance.json")).read_text())["run"]["precision"]
        folders[trained] = work / "default"
    runs: dict = {}
    todo = [p for p, f in folders.items() if f != work / "default"]
    for i, p in enumerate(todo):
        cfg = config_file(work / f"precision-{p}.yaml", only_fraction(p, z, a.rehearse))
        share = (deadline - time.monotonic()) / (len(todo) - i)  # the time left, split among the studies still to train
        runs[p] = study(f"precision-{p}", [*tiny, cfg], z, folders[p], max(1.0, share), a.out)
    runs |= {p: {"from": "the default part's study"} for p in folders if p not in todo}
    out: dict = {"studies": runs}
    try:
        for p, folder in folders.items():  # each arm trained in the precision it stands for
            prov = json.loads(next((folder / "results/runs").rglob("provenance.json")).read_text())
            if prov["run"]["precision"] != p:
                raise ValueError(f"{folder}: its runs trained in {prov['run']['precision']}, not {p}")
        out |= precision_check(*(folders[p] / "results/tables/final.csv" for p in ("fp32", "bf16")))
    except (OSError, StopIteration, ValueError, KeyError) as e:
        out["error"] = f"{type(e).__name__}: {e}"[:500]
    return out


def on_sigterm(*_: object) -> None:
    """The limit: a study under way is stopped by its ``study`` call, which sees ``STOPPING`` within
    half a second and returns its record marked ``stopped_by_limit``; outside a study, ``Stopped``
    is raised. A second SIGTERM is ignored."""
    if STOPPING:
        return
    STOPPING.append(True)
    if not RUNNING:
        raise Stopped("stopped at the time limit")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for gpu-check.json and the studies' logs")
    ap.add_argument("--rehearse", action="store_true", help="the same parts on the CPU at toy sizes")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(DEFAULT_PARTS))
    ap.add_argument("--work", type=Path, help="where the studies run (default: a temporary folder)")
    ap.add_argument("--limit", type=float, default=float(os.environ.get("GPU_CHECK_LIMIT", 480)), help="seconds for the whole run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    z = sizes(a.rehearse)
    if a.worker:  # one of the processes sharing the device
        a.out.write_text(json.dumps(bench.gpu_throughput(n=z["n"], epochs=3, device=z["device"], variants=[WORKER], width=z["width"])))
        return
    deadline = time.monotonic() - (time.time() - START) + a.limit - MARGIN_S  # from the process's start
    signal.signal(signal.SIGTERM, on_sigterm)
    a.out = a.out.resolve()
    a.out.mkdir(parents=True, exist_ok=True)
    work = (a.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        device = torch.cuda.get_device_name() if z["device"] == "cuda" else "cpu (rehearsal)"
    except Exception as e:  # noqa: BLE001 -- recorded: the JSON is the result either way
        device = f"unavailable: {type(e).__name__}: {e}"[:300]
    report: dict = {"machine": {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda, "cpus": os.cpu_count(),
                                "rehearsal": a.rehearse, "limit_s": a.limit}}  # fmt: skip
    for part in a.parts:
        t, budget = time.perf_counter(), min(BUDGET[part] * z["scale"], deadline - time.monotonic())
        try:
            end = time.monotonic() + budget  # the part's own deadline
            report[part] = run_part(part, z, a, work, report, budget, end) if budget > 5 else {"skipped": "no time left"}
        except Stopped as e:
            report[part] = {"error": str(e)}
        except Exception as e:  # noqa: BLE001 -- a part that fails is reported and the others go on
            report[part] = {"error": f"{type(e).__name__}: {e}"[:500]}
        report[part]["part_s"] = time.perf_counter() - t
        atomic_write_text(json.dumps(report, indent=2, default=float), a.out / "gpu-check.json")
        if STOPPING:
            break
    print(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
