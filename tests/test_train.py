import os
import signal

import pytest
import torch
from test_runs import study

from warmstart import data, experiments
from warmstart.atomic import CorruptFile, load_checked, save_checked
from warmstart.execute import execute
from warmstart.models import build_model
from warmstart.randomness import seeded
from warmstart.starts import initial_model
from warmstart.train import Interrupted, flip_crop, shuffled, train

SETTINGS = dict(optimizer="adam", lr=1e-3, batch_size=64)


def train_one(model, d, schedule, order_seed=(0, 1), **kw):
    """``train`` on a shard of one model: its metric rows and snapshots."""
    return train([model], d, schedule, order_seeds=[list(order_seed)], **kw)[0]


def _run(d, epochs=3, seed=0, **kw):
    model = build_model("mlp", (1, 40), 10, seed=seed, width=16)
    metrics, _ = train_one(model, d, shuffled(torch.arange(len(d["y_train"]))), epochs=epochs, **SETTINGS | kw)
    return model, metrics


def test_training_learns_and_is_deterministic(mnist1d_file):
    d = data.load(mnist1d_file)
    m1, a = _run(d)
    m2, b = _run(d)
    assert a == b
    assert all(torch.equal(x, y) for x, y in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert [r["epoch"] for r in a] == [0, 0, 1, 1, 2, 2, 3, 3]
    loss = {r["epoch"]: r["loss"] for r in a if r["split"] == "train"}
    assert loss[3] < loss[0]
    _, c = _run(d, order_seed=[1, 1])
    assert c != a  # another data order gives another run


def test_epoch_order_depends_on_the_order_seed_and_epoch_only():
    sched = shuffled(torch.arange(100))
    assert torch.equal(sched(seeded(0, 1, 5), 5), sched(seeded(0, 1, 5), 5))
    assert not torch.equal(sched(seeded(0, 1, 5), 5), sched(seeded(0, 1, 6), 6))
    assert not torch.equal(sched(seeded(0, 1, 5), 5), sched(seeded(0, 0, 5), 5))
    assert sorted(sched(seeded(3, 1, 2), 2).tolist()) == list(range(100))


def test_fresh_run_starts_from_the_pretraining_initialisation_and_warm_from_its_end(mnist1d_file, tmp_path):
    table = experiments.build(study())
    d = data.load(mnist1d_file)
    pre = table.runs["mnist1d/mlp/adam/pretrain/fraction~0.5/seed~1"]
    warm = table.runs["mnist1d/mlp/adam/warm/fraction~0.5/seed~1"]
    fresh = table.runs["mnist1d/mlp/adam/fresh/seed~1"]
    sub = tmp_path / "sub.pt"
    torch.save(data.nested_subsets(300, [0.5], 0)[0.5], sub)
    execute([pre], mnist1d_file, [tmp_path / "pre"], subsets={"fraction~0.5": sub})
    init_pre = initial_model(pre, d["meta"], None).state_dict()
    init_fresh = initial_model(fresh, d["meta"], None).state_dict()
    init_warm = initial_model(warm, d["meta"], tmp_path / "pre" / "model.pt").state_dict()
    end_pre = load_checked(tmp_path / "pre" / "model.pt")["model"]
    assert all(torch.equal(init_pre[k], init_fresh[k]) for k in init_pre)
    assert all(torch.equal(init_warm[k], end_pre[k]) for k in end_pre)
    assert not all(torch.equal(init_pre[k], end_pre[k]) for k in end_pre)
    assert sorted(p.name for p in (tmp_path / "pre").iterdir()) == ["metrics.csv", "model.pt", "provenance.json"]


@pytest.mark.parametrize("legacy", [False, True], ids=["checkpoint", "checkpoint of an earlier version"])
def test_resume_after_sigterm_mid_epoch_equals_an_uninterrupted_run(mnist1d_file, tmp_path, legacy):
    d = data.load(mnist1d_file)
    full = torch.arange(len(d["y_train"]))
    ref_model, ref = _run(d, epochs=4)

    calls = []

    def terminating(g, epoch):  # SIGTERM arrives while epoch 3 is being trained
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return shuffled(full)(g, epoch)

    ckpt = tmp_path / "resume.pt"
    model = build_model("mlp", (1, 40), 10, seed=0, width=16)
    with pytest.raises(Interrupted):
        train_one(model, d, terminating, epochs=4, checkpoint=ckpt, checkpoint_every=1, **SETTINGS)
    state = load_checked(ckpt)
    assert (state["epoch"], state["step"]) == (2, 1)  # saved after the first step of epoch 3
    if legacy:  # written before the consecutive-epochs rule: no streaks, a "reached" of its own
        state.pop("streak")
        save_checked(state | {"reached": {}}, ckpt)
    model = build_model("mlp", (1, 40), 10, seed=0, width=16)  # a new process starts from scratch
    resumed, _ = train_one(model, d, shuffled(full), epochs=4, checkpoint=ckpt, checkpoint_every=1, **SETTINGS)
    assert resumed == ref
    assert all(torch.equal(x, y) for x, y in zip(model.state_dict().values(), ref_model.state_dict().values()))


def test_corrupted_checkpoint_is_reported_with_its_path(tmp_path):
    path = tmp_path / "c.pt"
    save_checked({"a": torch.ones(100)}, path)
    assert torch.equal(load_checked(path)["a"], torch.ones(100))
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(CorruptFile, match=str(path)):
        load_checked(path)


def test_flip_crop_gives_each_image_a_flipped_or_unflipped_crop_of_its_padded_self():
    x = torch.arange(6 * 3 * 8 * 8, dtype=torch.float32).reshape(6, 3, 8, 8) + 1
    out = flip_crop(x, seeded(0), pad=2)
    assert torch.equal(flip_crop(x, seeded(0), pad=2), out)  # a function of its generator
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    shifts = set()
    for i in range(len(x)):
        crops = {(dy, dx): padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)}
        matches = [(k, f) for k, c in crops.items() for f in (0, 1) if torch.equal(out[i], c.flip(2) if f else c)]
        assert matches, f"image {i} is not a crop of its padded self"
        shifts.add(matches[0])
    assert len(shifts) > 1  # not the same transformation for every image


def test_snapshots_of_one_run_equal_shorter_runs_and_serve_warm_starts(mnist1d_file, tmp_path):
    d = data.load(mnist1d_file)
    model = build_model("mlp", (1, 40), 10, seed=0, width=16)
    _, snaps = train_one(model, d, shuffled(torch.arange(300)), epochs=3, save_epochs=(0, 1, 2), **SETTINGS)
    for e in (1, 2):
        shorter, _ = _run(d, epochs=e)
        assert all(torch.equal(snaps[e][k], v) for k, v in shorter.state_dict().items())
    init = build_model("mlp", (1, 40), 10, seed=0, width=16).state_dict()
    assert all(torch.equal(snaps[0][k], v) for k, v in init.items())

    table = experiments.build(study())
    warm = next(r for r in table.runs.values() if r["parent_epoch"] == 1)
    pre = table.runs[warm["parent"]]
    assert 1 in pre["save_epochs"]
    save_checked({"model": model.state_dict(), "snapshots": snaps, "spec": pre}, tmp_path / "pre.pt")
    started = initial_model(warm | {"model": {"name": "mlp", "width": 16, "depth": 2}}, d["meta"], tmp_path / "pre.pt").state_dict()
    assert all(torch.equal(started[k], snaps[1][k]) for k in started)


def test_bf16_autocast_trains_deterministically_and_is_really_used(mnist1d_file):
    d = data.load(mnist1d_file)
    _, a = _run(d, bf16=True)
    _, b = _run(d, bf16=True)
    _, fp32 = _run(d)
    assert a == b and a != fp32
    loss = {r["epoch"]: r["loss"] for r in a if r["split"] == "train"}
    assert loss[3] < loss[0]
    assert all(abs(x["acc"] - y["acc"]) < 0.1 for x, y in zip(a, fp32))  # same training, lower precision


def test_channels_last_changes_the_layout_not_the_result():
    g = torch.Generator().manual_seed(0)
    d = {"x_train": torch.randn(64, 3, 8, 8, generator=g), "y_train": torch.randint(0, 10, (64,), generator=g)}
    d |= {"x_test": d["x_train"][:16], "y_test": d["y_train"][:16]}
    results = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        model = build_model("cnn", (3, 8, 8), 10, seed=0, width=8).to(memory_format=fmt)
        dd = d | {k: d[k].contiguous(memory_format=fmt) for k in ("x_train", "x_test")}
        metrics, _ = train_one(model, dd, shuffled(torch.arange(64)), epochs=2, **SETTINGS)
        results.append([r["loss"] for r in metrics])
    assert results[0] == pytest.approx(results[1], rel=1e-4)


@pytest.mark.slow
@pytest.mark.slow_unit
def test_compiled_training_matches_eager(mnist1d_file):
    d = data.load(mnist1d_file)
    eager_model, eager = _run(d, epochs=2)
    compiled_model, compiled = _run(d, epochs=2, compile=True)
    assert [r["acc"] for r in compiled] == pytest.approx([r["acc"] for r in eager], abs=0.02)
    assert set(compiled_model.state_dict()) == set(eager_model.state_dict())  # checkpoints keep their keys


def test_signal_augmentation_is_a_circular_shift_a_scaling_and_noise_drawn_from_the_steps_key():
    from warmstart.randomness import seeded
    from warmstart.train import augmentation, shift_scale_noise

    x = torch.randn(6, 1, 40, generator=torch.Generator().manual_seed(0))
    assert torch.equal(shift_scale_noise(x, seeded(1), 0, 0.0, 0.0), x)  # nothing declared: the identity
    shifted = shift_scale_noise(x, seeded(1), 3, 0.0, 0.0)
    s = torch.randint(-3, 4, (6,), generator=seeded(1))
    assert all(torch.equal(shifted[i], torch.roll(x[i], int(s[i]), -1)) for i in range(6))  # each example its own shift
    scaled = shift_scale_noise(x, seeded(1), 0, 0.2, 0.0)
    ratio = scaled.flatten(1) / x.flatten(1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio)) and ((ratio - 1).abs() <= 0.2).all()
    noisy = shift_scale_noise(x, seeded(1), 0, 0.0, 0.05)
    assert 0.03 < float((noisy - x).std()) < 0.07
    assert torch.equal(shift_scale_noise(x, seeded(1), 3, 0.1, 0.05), shift_scale_noise(x, seeded(1), 3, 0.1, 0.05))
    assert augmentation(False) is None and augmentation({"shift": 3, "scale": 0.1, "noise": 0.05}).keywords["shift"] == 3
