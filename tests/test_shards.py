"""Shards of seeds: one stacked model per job gives each seed what it would get alone.

Tolerances, measured on the development machine (CPU, one thread, torch 2.14.1) and asserted
here: the MLP, logistic regression and the CNN train to the same metrics as single runs within
1e-5 in loss and identical accuracies. The ResNet with BatchNorm is compared in float64: in
float32 its batched convolutions round differently and Adam amplifies rounding in parameters
whose gradients are near zero (seed for seed 1e-7 after one epoch, 1.06e-3 in loss after three
on the 2026-11-28 machine: a tolerance on it measured one machine's rounding); in float64 the
shard equals the single runs within 1e-9 (measured 4e-16) with identical accuracies. A shard
trained twice is bit-identical.
"""

import os
import signal

import pandas as pd
import pytest
import torch
from test_runs import study

from warmstart import data, experiments, interventions, names, runs, shards
from warmstart.atomic import load_checked
from warmstart.execute import execute
from warmstart.models import build_model
from warmstart.train import Interrupted, shuffled, train

SETTINGS = dict(optimizer="adam", lr=3e-3, batch_size=32)
# model: (settings, loss tolerance, accuracy tolerance in examples, a training accuracy that
# some seeds reach within 3 epochs and others not, dtype)
MODELS = {
    "mlp": ({"width": 32, "depth": 2}, 1e-5, 0, 0.2, torch.float32),
    "logreg": ({}, 1e-5, 0, 0.2, torch.float32),
    "cnn": ({"width": 8, "depth": 2}, 1e-5, 0, 0.15, torch.float32),
    "resnet": ({"width": 4, "depth": 1}, 1e-9, 0, 0.3, torch.float64),  # BatchNorm: per-seed running statistics
}


def _models(name, seeds, kw, dtype=torch.float32, shape=(1, 40)):
    return [build_model(name, shape, 10, seed=s, **kw).to(dtype) for s in seeds]


def _shard(d, name, seeds, kw, dtype=torch.float32, **extra):
    models = _models(name, seeds, kw, dtype, tuple(d["x_train"].shape[1:]))
    d = {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in d.items()}
    n = len(d["y_train"])
    out = train(models, d, shuffled(torch.arange(n)), order_seeds=[[s, 1] for s in seeds], **SETTINGS | extra)
    return models, out


def _close(a, b, loss_tol, acc_examples, n_train, n_test):
    assert [(r["epoch"], r["split"]) for r in a] == [(r["epoch"], r["split"]) for r in b]
    for x, y in zip(a, b):
        n = n_train if x["split"] == "train" else n_test
        assert abs(x["loss"] - y["loss"]) <= loss_tol, (x, y)
        assert abs(x["acc"] - y["acc"]) * n <= acc_examples + 1e-6, (x, y)


@pytest.mark.parametrize("name", MODELS)
def test_a_shard_gives_each_seed_its_single_run_with_early_stop_and_snapshots(mnist1d_file, name):
    d = data.load(mnist1d_file)
    kw, loss_tol, acc_examples, until, dtype = MODELS[name]
    seeds = [0, 1, 2, 3]
    extra = dict(epochs=3, save_epochs=(0, 1, 2), stop_train_acc=until, dtype=dtype)
    models, shard = _shard(d, name, seeds, kw, **extra)
    stops = []
    for i, seed in enumerate(seeds):
        (alone,), (out,) = _shard(d, name, [seed], kw, **extra)
        _close(shard[i][0], out[0], loss_tol, acc_examples, 300, 100)
        assert set(shard[i][1]) == set(out[1])  # the same snapshots
        assert all(torch.allclose(shard[i][1][e][k], v, atol=1e-3) for e in out[1] for k, v in out[1][e].items())
        final = models[i].state_dict()
        assert all(torch.allclose(final[k].float(), v.float(), atol=1e-2) for k, v in alone.state_dict().items())
        stops.append(max(r["epoch"] for r in out[0]))
    assert len(set(stops)) > 1, "every seed stopped at the same epoch: the test does not exercise per-seed stops"


def _images(n_train=240, n_test=80, side=14, seed=0) -> dict:
    """Grey images with a learnable class (each class's fixed pattern plus noise), as the data of a
    2-D network (Fashion-MNIST's shape, smaller)."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(10, 1, side, side, generator=g)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = torch.randint(0, 10, (n,), generator=g)
        out[f"x_{split}"], out[f"y_{split}"] = templates[y] + 0.8 * torch.randn(n, 1, side, side, generator=g), y
    return out


@pytest.mark.parametrize(
    "name,kw,dtype", [("cnn", {"width": 8, "depth": 2}, torch.float32), ("resnet", {"width": 4, "depth": 1}, torch.float64)]
)
def test_a_shard_of_2d_networks_on_images_gives_each_seed_its_single_run(name, kw, dtype):
    """The image networks (a 2-D CNN in fp32; the narrow ResNet, BatchNorm, in float64, where its
    arithmetic allows: fp32 batched convolutions round otherwise) are exact in a shard."""
    d = _images()
    seeds = [0, 1, 2]
    models, shard = _shard(d, name, seeds, kw, epochs=4, dtype=dtype)
    for i, seed in enumerate(seeds):
        (alone,), (out,) = _shard(d, name, [seed], kw, epochs=4, dtype=dtype)
        _close(shard[i][0], out[0], 1e-5 if dtype == torch.float32 else 1e-9, 0, 240, 80)
        final = models[i].state_dict()
        assert all(torch.allclose(final[k].double(), v.double(), atol=1e-4) for k, v in alone.state_dict().items())
    assert max(r["acc"] for r in shard[0][0] if r["split"] == "test") > 0.2  # learnt something: the comparison is not of noise


def test_a_finished_seed_stops_changing_while_the_others_go_on(mnist1d_file):
    d = data.load(mnist1d_file)
    models, out = _shard(d, "mlp", [0, 1, 2, 3], MODELS["mlp"][0], epochs=6, save_epochs=(1, 2, 3, 4, 5), stop_train_acc=0.23)
    last = [max(r["epoch"] for r in metrics) for metrics, _ in out]
    assert min(last) < max(last)
    for (metrics, snaps), model, stop in zip(out, models, last):
        assert set(snaps) == {e for e in (1, 2, 3, 4, 5) if e <= stop}
        if stop in snaps:  # its final state is its state at its stop
            assert all(torch.equal(snaps[stop][k], v) for k, v in model.state_dict().items())
        assert next(r["acc"] for r in metrics if r["epoch"] == stop and r["split"] == "train_eval") >= 0.23 or stop == 6


def test_a_seed_stops_after_the_stated_consecutive_epochs_at_the_threshold(mnist1d_file):
    """The stopping rule: the first ``stop_consecutive`` consecutive epochs after ``stop_from``
    whose training data reached the accuracy in eval mode (split ``train_eval``), or the cap; the
    seeds stop apart."""
    d = data.load(mnist1d_file)
    for k, start in ((1, 0), (2, 0), (2, 3)):
        _, out = _shard(d, "mlp", [0, 1, 2, 3], MODELS["mlp"][0], epochs=8, stop_train_acc=0.23, stop_consecutive=k, stop_from=start)
        ends = []
        for metrics, _ in out:
            fit = {r["epoch"]: r["acc"] for r in metrics if r["split"] == "train_eval"}
            runs_of_k = [e for e in fit if e - k + 1 > start and all(fit.get(x, 0) >= 0.23 for x in range(e - k + 1, e + 1))]
            ends.append(max(fit))
            assert max(fit) == min(runs_of_k, default=8), (k, start, fit)
        assert len(set(ends)) > 1


def test_a_shard_is_deterministic_and_its_size_does_not_change_a_seed(mnist1d_file):
    d = data.load(mnist1d_file)
    kw = MODELS["mlp"][0]
    (_, a), (_, b) = _shard(d, "mlp", [0, 1, 2, 3], kw, epochs=3), _shard(d, "mlp", [0, 1, 2, 3], kw, epochs=3)
    assert [m for m, _ in a] == [m for m, _ in b]  # bit-identical twice
    halves = _shard(d, "mlp", [0, 1], kw, epochs=3)[1] + _shard(d, "mlp", [2, 3], kw, epochs=3)[1]
    for (x, _), (y, _) in zip(a, halves):
        _close(x, y, 1e-5, 0, 300, 100)


HOOKS = {  # interventions whose state must survive a resume with a seed gone: none, continual backprop, L2 Init's anchors,
    # Hare & Tortoise's EMA (a reset every 2 epochs), Parseval's penalty
    "plain": None,
    "cbp": {"name": "cbp", "rate": 0.05, "decay": 0.9, "maturity": 2},
    "l2_init": {"name": "l2_init", "strength": 0.01},
    "hare_tortoise": {"name": "hare_tortoise", "ema": 0.5, "every": 2},
    "parseval": {"name": "parseval", "strength": 0.001, "scale": 1.0},
}


@pytest.mark.parametrize("intervention", HOOKS)
def test_resume_of_a_shard_after_a_seed_stopped_equals_the_uninterrupted_shard(mnist1d_file, tmp_path, intervention):
    d = data.load(mnist1d_file)
    kw, seeds, n = MODELS["mlp"][0], [0, 1, 2], 300
    extra = dict(epochs=6, stop_train_acc=0.23, save_epochs=(2, 4))
    hooks = lambda: {"hooks": interventions.during(HOOKS[intervention], lambda: _models("mlp", seeds, kw))}  # noqa: E731
    ref_models, ref = _shard(d, "mlp", seeds, kw, **extra, **hooks())
    first_stop = min(max(r["epoch"] for r in m) for m, _ in ref)
    assert first_stop < 6
    calls = []

    def terminating(g, epoch):  # SIGTERM in the epoch after the first seed stopped
        calls.append(epoch)
        if epoch == first_stop + 1 and calls.count(epoch) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return shuffled(torch.arange(n))(g, epoch)

    ckpt = tmp_path / "resume.pt"
    orders = [[s, 1] for s in seeds]
    with pytest.raises(Interrupted):
        train(
            _models("mlp", seeds, kw), d, terminating, order_seeds=orders, checkpoint=ckpt, checkpoint_every=1, **SETTINGS | extra | hooks()
        )
    assert len(load_checked(ckpt)["active"]) < len(seeds)  # saved with a seed already out of the stack
    models = _models("mlp", seeds, kw)
    resumed = train(
        models, d, shuffled(torch.arange(n)), order_seeds=orders, checkpoint=ckpt, checkpoint_every=1, **SETTINGS | extra | hooks()
    )
    assert [m for m, _ in resumed] == [m for m, _ in ref]
    for (_, s1), (_, s2), m1, m2 in zip(resumed, ref, models, ref_models):
        assert all(torch.equal(s1[e][k], s2[e][k]) for e in s2 for k in s2[e])
        assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


@pytest.mark.parametrize(
    "experiment, run",
    [
        ("reset", "mnist1d/mlp/adam/warm/fraction~0.5/reset~layer2+head/seed~{}"),
        ("shrink_perturb", "mnist1d/mlp/adam/warm/fraction~0.5/shrink~0.5-perturb~0.1/seed~{}"),
        ("smooth_shift", "mnist1d/mlp/adam/shift/fraction~0.5/gamma~0.5/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/l2_init-strength~0.01/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/dash-shrink~0.3/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/sam-rho~0.05/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/redo-every~4-tau~0.5/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/cbp-decay~0.9-maturity~2-rate~0.05/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/parseval-scale~1-strength~0.001/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/hare_tortoise-ema~0.9-every~2/seed~{}"),
        ("arena", "mnist1d/mlp/adam/warm/fraction~0.5/injection/seed~{}"),
        ("arena", "mnist1d/mlp/adam/norm~layernorm/warm/fraction~0.5/seed~{}"),
        ("arena", "mnist1d/mlp/adam/activation~crelu/warm/fraction~0.5/seed~{}"),
        ("augmentation", "mnist1d/mlp/adam/augment/noise~0.05-scale~0.1-shift~3/warm/fraction~0.5/seed~{}"),
        ("label_noise", "mnist1d/mlp/adam/warm/fraction~0.5/labelnoise~0.5/seed~{}"),
        ("regularised", "mnist1d/mlp/adam/fresh/parseval-scale~1-strength~0.001/seed~{}"),
    ],
)
def test_interventions_and_the_smooth_shift_are_per_seed_in_a_shard(mnist1d_file, tmp_path, experiment, run):
    table = experiments.build(study(seeds=3))
    sub = tmp_path / "sub.pt"
    torch.save(data.nested_subsets(300, [0.5], 0)[0.5], sub)
    subsets = {"fraction~0.5": sub}
    seeds = [0, 1, 2]
    specs = [table.runs[run.format(s)] for s in seeds]
    parents = None
    if specs[0]["parent"]:
        pre = [table.runs[s["parent"]] for s in specs]
        execute(pre, mnist1d_file, [tmp_path / f"pre/{s}" for s in seeds], subsets=subsets)
        parents = [tmp_path / f"pre/{s}/model.pt" for s in seeds]
    execute(specs, mnist1d_file, [tmp_path / f"shard/{s}" for s in seeds], subsets=subsets, parents=parents)
    for i, s in enumerate(seeds):
        execute([specs[i]], mnist1d_file, [tmp_path / f"alone/{s}"], subsets=subsets, parents=parents and [parents[i]])
        a, b = pd.read_csv(tmp_path / f"shard/{s}/metrics.csv"), pd.read_csv(tmp_path / f"alone/{s}/metrics.csv")
        assert (a.acc == b.acc).all() and (a.loss - b.loss).abs().max() <= 1e-5
    first = pd.read_csv(tmp_path / "shard/0/metrics.csv")
    assert not first.equals(pd.read_csv(tmp_path / "shard/1/metrics.csv"))  # seeds differ: each has its own draw
    prov = pd.read_json(tmp_path / "shard/1/provenance.json", typ="series")
    assert prov["shard"]["seeds"] == seeds


def test_runs_that_differ_in_more_than_their_seed_cannot_share_a_shard():
    table = experiments.build(study(seeds=2))
    a = table.runs["mnist1d/mlp/adam/fresh/seed~0"]
    b = table.runs["mnist1d/mlp/adam/fresh/lr~0.01/seed~1"] | {"id": "mnist1d/mlp/adam/fresh/seed~1"}
    with pytest.raises(ValueError, match="differ in more than their seed"):
        shards.same_up_to_seed([a, b])
    shards.same_up_to_seed([a, table.runs["mnist1d/mlp/adam/fresh/seed~1"]])


def test_shard_names_and_plans(tmp_path):
    assert names.ranges([0, 1, 2, 3, 7, 9, 10]) == "0-3,7,9-10"
    assert names.members("g/x/seeds~0-2,5") == [f"g/x/seed~{s}" for s in (0, 1, 2, 5)]
    ids = [f"g/seed~{s}" for s in range(5)] + ["h/seed~0"]
    assert set(shards.partition(ids, None)) == {"g/seeds~0-4", "h/seeds~0"}
    assert set(shards.partition(ids, 2)) == {"g/seeds~0-1", "g/seeds~2-3", "g/seeds~4", "h/seeds~0"}
    # finished runs keep the shard recorded in their provenance; new seeds get shards of their own
    for s in (0, 1):
        (tmp_path / f"runs/g/seed~{s}").mkdir(parents=True)
        (tmp_path / f"runs/g/seed~{s}/model.pt").write_bytes(b"x")
        (tmp_path / f"runs/g/seed~{s}/provenance.json").write_text('{"shard": {"name": "g/seeds~0-1"}}')
    (tmp_path / "shards/g/seeds~2-3").mkdir(parents=True)  # trained, not yet linked into place
    plan = shards.plan(ids, 1, tmp_path / "runs", tmp_path / "shards")
    assert plan == {
        "g/seed~0": "g/seeds~0-1",
        "g/seed~1": "g/seeds~0-1",
        "g/seed~2": "g/seeds~2-3",
        "g/seed~3": "g/seeds~2-3",
        "g/seed~4": "g/seeds~4",
        "h/seed~0": "h/seeds~0",
    }


def test_a_new_run_field_at_its_default_leaves_every_identity_unchanged(monkeypatch):
    before = {k: runs.identity(r) for k, r in experiments.build(study()).runs.items()}
    monkeypatch.setitem(runs.FIELD_DEFAULTS, "label_noise", 0.0)
    after = experiments.build(study()).runs
    assert all(r["label_noise"] == 0.0 for r in after.values())
    assert {k: runs.identity(r) for k, r in after.items()} == before
    assert all(runs.from_identity(before[k]) == r for k, r in after.items())


def test_a_noisy_pretraining_is_trained_and_evaluated_on_its_corrupted_labels(mnist1d_file, tmp_path):
    from warmstart.starts import fresh_model

    table = experiments.build(study(seeds=2))
    spec = table.runs["mnist1d/mlp/adam/pretrain/fraction~0.5/labelnoise~0.5/seed~0"]
    clean = table.runs["mnist1d/mlp/adam/pretrain/fraction~0.5/seed~0"]
    assert spec["corrupt_labels"] == {"rate": 0.5, "seed": table.config["dataset"]["subset_seed"]} and not clean["corrupt_labels"]
    d = data.load(mnist1d_file)
    sub = data.nested_subsets(len(d["y_train"]), [0.5], 0)[0.5]
    torch.save(sub, tmp_path / "sub.pt")
    for s, out in ((spec, "noisy"), (clean, "clean")):
        execute([s | {"epochs": 1}], mnist1d_file, [tmp_path / out], subsets={"fraction~0.5": tmp_path / "sub.pt"})
    model = fresh_model(spec, d["meta"]).eval()
    with torch.no_grad():
        pred = model(d["x_train"][sub]).argmax(1)
    noisy_y = data.corrupt_labels(d["y_train"], sub, 0.5, 0, 10)[sub]
    for out, y in (("noisy", noisy_y), ("clean", d["y_train"][sub])):
        m = pd.read_csv(tmp_path / out / "metrics.csv")
        start = m[(m.epoch == 0) & (m.split == "train")].acc.iloc[0]
        assert start == pytest.approx(float((pred == y).float().mean()), abs=1e-6)  # the initial model read on that run's labels
    assert (noisy_y != d["y_train"][sub]).float().mean() == pytest.approx(0.5, abs=1e-3)


def test_screening_censors_exactly_the_accuracies_below_the_threshold(mnist1d_file, monkeypatch):
    """``screen`` returns a seed's eval-mode accuracy exactly as ``evaluate`` gives it whenever it is
    at the threshold (and whenever asked in full), and ``None`` exactly when it is below."""
    import warmstart.train as T

    d = data.load(mnist1d_file)
    models, _ = _shard(d, "mlp", list(range(6)), MODELS["mlp"][0], epochs=2)
    stack = T.Stack(models)
    loss, acc = T.evaluate(stack, d["x_train"], d["y_train"])
    for threshold in sorted(acc) + [0.0, 1.0]:
        for full in ([False] * 6, [True, False] * 3):
            got = T.screen(stack, d["x_train"], d["y_train"], threshold, full, batch=16)
            for j in range(6):
                if acc[j] >= threshold or full[j]:
                    assert got[j] is not None and got[j][1] == acc[j] and got[j][0] == pytest.approx(loss[j], abs=1e-6)
                else:
                    assert got[j] is None
    assert len(set(acc)) > 2  # the seeds differ: thresholds between them censor some and not others


@pytest.mark.parametrize(("k", "start", "threshold"), [(1, 0, 0.47), (2, 0, 0.46), (2, 3, 0.46)])
def test_lean_evaluation_reads_every_run_as_full_evaluation_does(mnist1d_file, monkeypatch, k, start, threshold):
    """Evaluating the training data in chunks with early exit, and the test set only where an epoch
    can be read, gives the same stop epochs, read windows, read accuracies, fit and epochs to fit as
    evaluating both at every epoch (``tables.read_out`` on each), and evaluates less."""
    import warmstart.train as T
    from warmstart.tables import read_out

    monkeypatch.setattr(T, "SCREEN_CHUNK", 32)  # 300 training examples: several chunks to leave after
    d = data.load(mnist1d_file)
    seeds, rule = list(range(6)), {"train_acc": threshold, "consecutive": k}  # some seeds fit within 10 epochs, others not
    kw = dict(epochs=10, stop_train_acc=threshold, stop_consecutive=k, stop_from=start)
    frames = {}
    for name, curves in (("full", True), ("lean", [s == 0 for s in seeds])):  # seed 0 drawn: evaluated in full
        _, out = _shard(d, "mlp", seeds, MODELS["mlp"][0], curves=curves, **kw)
        frames[name] = pd.DataFrame([r | {"run": f"seed~{s}"} for s, (metrics, _) in zip(seeds, out) for r in metrics])
    full, lean = (read_out(frames[n], {f"seed~{s}": rule for s in seeds}) for n in ("full", "lean"))
    pd.testing.assert_frame_equal(full, lean, check_exact=True)
    assert full.fitted.any() and not full.fitted.all() and (full.epochs < 10).any()  # some stop before the cap, some do not fit
    count = lambda f, run, split: len(f[(f.run == run) & (f.split == split)])  # noqa: E731
    assert all(count(frames["full"], "seed~0", s) == count(frames["lean"], "seed~0", s) for s in ("test", "train_eval"))
    lean_rows = sum(count(frames["lean"], f"seed~{s}", split) for s in seeds[1:] for split in ("test", "train_eval"))
    full_rows = sum(count(frames["full"], f"seed~{s}", split) for s in seeds[1:] for split in ("test", "train_eval"))
    assert lean_rows < full_rows  # it did skip evaluations
    merged = frames["full"].merge(frames["lean"], on=["run", "epoch", "split"], suffixes=("", "_lean"))
    assert (merged.acc == merged.acc_lean).all() and (merged.loss - merged.loss_lean).abs().max() < 1e-6  # what is logged is the same


def test_the_longest_chain_of_training_starts_first(tmp_path):
    """A shard's priority is its cost plus the longest path of the shards that train from it, so a
    pretraining shard ranks above every shard it feeds and a chain's first round above a long
    lone shard shorter than the chain; a previous study's timing.csv replaces the estimate."""
    mlp = {"name": "mlp", "width": 100, "depth": 2}
    spec = lambda epochs, parent=None: {"epochs": epochs, "model": mlp, "parent": parent}  # noqa: E731
    table = {"pre/seed~0": spec(100), "tune/seed~0": spec(200, "pre/seed~0"), "round2/seed~0": spec(200, "tune/seed~0"),
             "lone/seed~0": spec(450), "wide/seed~0": {"epochs": 200, "model": mlp | {"width": 400}, "parent": None}}  # fmt: skip
    shard_of = {run: run.replace("seed~0", "seeds~0") for run in table}
    costs = shards.run_costs(table)
    assert costs["wide/seed~0"] > 4 * costs["tune/seed~0"]  # a model 4x as wide costs more than 4x per epoch
    path = shards.critical_paths(shard_of, table, costs)
    assert path["pre/seeds~0"] == costs["pre/seed~0"] + path["tune/seeds~0"] == 500
    assert path["pre/seeds~0"] > path["lone/seeds~0"] > path["tune/seeds~0"] > path["round2/seeds~0"]
    # measured seconds where a previous study has them; the other runs at the measured runs' median rate
    (tmp_path / "timing.csv").write_text("run,seconds\npre/seed~0,50.0\ntune/seed~0,10.0\nelsewhere/seed~0,1.0\n")
    timed = shards.run_costs(table, tmp_path / "timing.csv")
    assert timed["pre/seed~0"] == 50.0 and timed["tune/seed~0"] == 10.0
    assert timed["lone/seed~0"] == pytest.approx(450 * 0.275)  # the median of 0.5 and 0.05 s per epoch
    measured = shards.critical_paths(shard_of, table, timed)
    assert measured["pre/seeds~0"] == pytest.approx(50 + 10 + 200 * 0.275) and measured["lone/seeds~0"] > measured["pre/seeds~0"]


def test_the_workflow_runs_training_jobs_longest_chain_first(tmp_path):
    """Snakemake gets each training job's critical path as its priority: a pretraining shard ranks
    above the shards that tune from it; the seconds-long jobs that unblock training (data, subsets,
    linking a run into place) rank above every training job (Snakemake's greedy scheduler runs the
    ready job of highest priority first, so a ready shard of a short chain would otherwise hold up
    the subset and the link a long chain waits on)."""
    import re

    from studies import copy_workflow, snakemake

    work = copy_workflow(tmp_path / "w")
    out = snakemake(work, "-n", "--configfile", "configs/tiny.yaml")
    assert out.returncode == 0, out.stderr
    priority, unblock = {}, {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout):
        rule = re.match(r"(?:local)?rule (\w+):", block.strip())
        level = re.search(r"priority: (\S+)", block)
        if rule and rule.group(1) == "train":
            priority[re.search(r"shard=(\S+)", block).group(1)] = float(level.group(1))
        elif rule and rule.group(1) in ("prepare_data", "subset", "run"):
            unblock.setdefault(rule.group(1), []).append(float(level.group(1)) if level else 0.0)
    pre = "mnist1d/mlp/adam/pretrain/fraction~0.5/seeds~0-1"
    warm = [s for s in priority if s.startswith("mnist1d/mlp/adam/warm/fraction~0.5/")]  # every shard tuning from it
    assert warm and all(priority[pre] > priority[s] > 0 for s in warm)
    assert set(unblock) == {"prepare_data", "subset", "run"} and min(min(v) for v in unblock.values()) > max(priority.values())
