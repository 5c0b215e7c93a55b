import pytest
import torch
from test_runs import study

from warmstart import experiments
from warmstart.data import stage_subsets
from warmstart.interventions.reset import reset_units
from warmstart.interventions.shrink_perturb import shrink_perturb
from warmstart.models import build_model
from warmstart.randomness import seeded
from warmstart.train import smooth_shift


def _pretrained(seed=0):
    """A ResNet (6 units, BN buffers) whose every parameter and buffer moved away from its init."""
    model = build_model("resnet", (1, 40), 10, seed=seed, width=4, depth=1)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(0.5)
    return model


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.mark.parametrize("units", [["head"], ["module3", "module4", "head"], ["stem", "module1", "module2", "module3", "module4", "head"]])
def test_a_reset_unit_equals_its_fresh_init_and_the_other_units_are_untouched(units):
    init = build_model("resnet", (1, 40), 10, seed=0, width=4, depth=1)
    model, before = _pretrained(), _pretrained()
    reset_units(model, init, units)
    for name, unit in model.named_children():
        assert _same(unit, init.get_submodule(name) if name in units else before.get_submodule(name)), name


def test_resetting_every_unit_gives_exactly_the_fresh_start():
    init = build_model("resnet", (1, 40), 10, seed=3, width=4, depth=1)
    model = _pretrained(seed=3)
    reset_units(model, init, ["stem", "module1", "module2", "module3", "module4", "head"])
    assert _same(model, init)


def test_reset_of_an_unknown_unit_names_the_units():
    with pytest.raises(ValueError, match="stem, module1"):
        reset_units(_pretrained(), _pretrained(), ["layer9"])


def test_shrink_perturb_identity_and_fresh_init_limits():
    noise = build_model("mlp", (1, 40), 10, seed=9)
    model = build_model("mlp", (1, 40), 10, seed=0)
    original = [p.clone() for p in model.parameters()]
    shrink_perturb(model, noise, 1.0, 0.0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), original))
    shrink_perturb(model, noise, 0.0, 1.0)
    assert _same(model, noise)


def test_shrink_perturb_is_the_affine_combination():
    noise = build_model("mlp", (1, 40), 10, seed=9)
    model = build_model("mlp", (1, 40), 10, seed=0)
    before = [p.clone() for p in model.parameters()]
    shrink_perturb(model, noise, 0.4, 0.1)
    for p, b, q in zip(model.parameters(), before, noise.parameters()):
        assert torch.allclose(p, 0.4 * b + 0.1 * q)


def test_smooth_shift_draws_from_the_full_set_with_the_target_probability():
    n_full, batch, epochs, gamma = 1000, 100, 5, 0.9
    subset = torch.arange(500)  # full-set draws outside the subset are identifiable: index >= 500
    schedule = smooth_shift(n_full, subset, gamma, epochs, batch)
    steps = n_full // batch
    draws = torch.stack([schedule(seeded(0, 1, e), e).view(steps, batch) for e in range(1, epochs + 1)]).view(-1, batch)
    outside = (draws >= 500).double().mean(1)  # half of the full-set draws land outside the subset
    n = torch.arange(epochs * steps, dtype=torch.float64)
    p = 1 - gamma ** (50 * n / (epochs * steps))
    se = torch.sqrt(p / 2 * (1 - p / 2) / batch)
    assert outside[0] == 0  # step 0 draws only from the subset
    assert torch.all((outside - p / 2).abs() <= 4 * se + 1e-9)
    assert abs((outside.mean() - (p / 2).mean()).item()) < 0.01


def test_stages_grow_end_on_the_full_set_and_respect_r():
    y = torch.arange(1000) % 10
    for n, r in ((1, 1.0), (3, 0.5), (2, 0.2)):
        stages = stage_subsets(y, n, r, seed=0)
        assert len(stages) == n + 1
        assert torch.equal(stages[-1], torch.arange(1000))  # D_{n+1} = D
        for small, large in zip(stages, stages[1:]):
            assert set(small.tolist()) < set(large.tolist())  # D_{i-1} strictly inside D_i
        # |D_i| = r N i/(n+1) + (1 - r) N |C_1 ∪ .. ∪ C_i| / classes, up to the random class mix of D_c
        groups = [len(g) for g in torch.arange(10).tensor_split(n + 1)]
        for i, stage in enumerate(stages, start=1):
            expected = r * 1000 * i / (n + 1) + (1 - r) * 1000 * sum(groups[:i]) / 10
            assert abs(len(stage) - expected) <= 30, (n, r, i, len(stage), expected)
        if r < 1:  # the first stage is short of the classes whose D_c part comes later
            counts = torch.bincount(y[stages[0]], minlength=10).float()
            assert counts.max() / counts.min() > 1.5


def test_a_resampled_reset_draws_new_initial_values_a_restored_one_the_runs_own(tmp_path):
    from warmstart import data
    from warmstart.atomic import save_checked
    from warmstart.randomness import RESAMPLE, draw_seed
    from warmstart.starts import fresh_model, initial_model

    meta = data.prepare("mnist1d", num_train=50, num_test=10)["meta"]
    table = experiments.build(study(reset={"mode": "resample"}))
    spec = next(r for r in table.runs.values() if r["reset"] == ["head"])
    pretrained = fresh_model(spec, meta, 123)  # stands for the parent's final state
    save_checked({"model": pretrained.state_dict()}, tmp_path / "parent.pt")
    head = lambda m: m.head[-1].weight  # noqa: E731
    resampled = initial_model(spec, meta, tmp_path / "parent.pt")
    restored = initial_model(spec | {"reset_mode": "restore"}, meta, tmp_path / "parent.pt")
    assert torch.equal(head(resampled), head(fresh_model(spec, meta, draw_seed(RESAMPLE, spec))))
    assert torch.equal(head(restored), head(fresh_model(spec, meta)))
    assert not torch.equal(head(resampled), head(restored))
    assert torch.equal(resampled.layer1[-2].weight, pretrained.layer1[-2].weight)  # the kept unit is untouched
