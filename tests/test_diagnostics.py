import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from warmstart import diagnostics as dg


def test_lanczos_finds_the_top_of_a_known_spectrum():
    rng = np.random.default_rng(0)
    eig = np.concatenate([[50.0, 20.0, 10.0], rng.uniform(-1, 1, 197)])
    q, _ = np.linalg.qr(rng.normal(size=(200, 200)))
    A = torch.tensor(q @ np.diag(eig) @ q.T, dtype=torch.float32)  # a quadratic loss 0.5 xᵀAx has Hessian A
    top = dg.lanczos(lambda v: A @ v, 200, k=3, iters=40)
    assert top == pytest.approx([50, 20, 10], rel=1e-4)


def _tiny_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3))
    x, y = torch.randn(32, 3), torch.randint(0, 3, (32,))
    return model, x, y


def _dense_hessian(model, x, y):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = dg.flat_params(model)

    def loss(w):
        params, i = {}, 0
        for n, s in zip(names, shapes):
            params[n] = w[i : i + math.prod(s)].view(s)
            i += math.prod(s)
        return F.cross_entropy(functional_call(model, params, (x,)), y)

    return torch.autograd.functional.hessian(loss, flat.double().requires_grad_().float()).double()


def test_top_hessian_eigenvalue_of_a_small_mlp_matches_the_dense_hessian():
    model, x, y = _tiny_mlp()
    H = _dense_hessian(model, x, y)
    exact = np.sort(np.linalg.eigvalsh(H.numpy()))[::-1]
    top = dg.lanczos(dg.loss_hvp(model, x, y), H.shape[0], k=2, iters=H.shape[0])
    assert top[0] == pytest.approx(exact[0], rel=1e-3)
    assert top[1] == pytest.approx(exact[1], rel=1e-3)


def test_hutchinson_trace_matches_the_exact_trace_within_its_standard_error():
    model, x, y = _tiny_mlp()
    exact = float(torch.trace(_dense_hessian(model, x, y)))
    est, se = dg.hutchinson_trace(dg.loss_hvp(model, x, y), sum(p.numel() for p in model.parameters()), samples=200, seed=1)
    assert abs(est - exact) < 3 * se and se < abs(exact)


def test_gradient_noise_matches_a_brute_force_per_example_computation():
    model, x, y = _tiny_mlp()
    rows = []
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    g = torch.stack(rows).double()
    assert torch.allclose(torch.cat(list(dg.per_example_grad_chunks(model, x, y, chunk=5))).double(), g, atol=1e-6)
    mean = g.mean(0)
    tr = float(sum(((r - mean) ** 2).sum() for r in g) / (len(g) - 1))
    out = dg.gradient_noise(model, x, y, chunk=5)  # accumulated over 7 chunks, the last one short
    assert out["grad_trace_cov"] == pytest.approx(tr, rel=1e-6)
    assert out["noise_scale"] == pytest.approx(tr / (float(mean @ mean) - tr / len(g)), rel=1e-6)
    # the full-batch gradient is the mean of the per-example ones
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    assert torch.allclose(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double(), mean, atol=1e-6)


def test_dead_units_on_hand_made_activations():
    dense = torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])  # unit 0 always 0, unit 2 zero 3/4
    conv = torch.zeros(4, 2, 5)
    conv[0, 1, 3] = 1.0  # channel 0 dead everywhere, channel 1 alive on one example
    assert dg.dead_fraction([dense], threshold=1.0) == pytest.approx(1 / 3)
    assert dg.dead_fraction([dense], threshold=0.75) == pytest.approx(2 / 3)
    assert dg.dead_fraction([dense, conv], threshold=1.0) == pytest.approx(2 / 5)
    assert dg.dead_fraction([dense, conv], threshold=0.75) == pytest.approx(4 / 5)


def test_effective_rank_on_hand_made_features():
    assert dg.effective_rank(torch.eye(5) * 3) == pytest.approx(5)  # equal singular values: full rank
    assert dg.effective_rank(torch.outer(torch.ones(10), torch.arange(1.0, 5.0))) == pytest.approx(1)
    s = torch.tensor([3.0, 1.0])
    p = s / s.sum()
    assert dg.effective_rank(torch.diag(s)) == pytest.approx(float(torch.exp(-(p * p.log()).sum())))


def test_stable_rank_counts_the_singular_values_that_hold_99_percent_of_their_sum():
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    for s, k in (([1.0, 1.0, 1.0, 1.0], 4), ([90.0, 9.5, 0.5], 2), ([100.0, 1e-3, 1e-3], 1), ([50.0, 30.0, 19.5, 0.4, 0.1], 3)):
        features = q[:, : len(s)] @ torch.diag(torch.tensor(s, dtype=torch.float64))  # singular values exactly s
        assert dg.stable_rank(features) == k, s
    assert dg.stable_rank(torch.zeros(5, 3)) == 0


def test_gradient_norm_is_the_norm_of_the_analytic_gradient_of_logistic_regression():
    g = torch.Generator().manual_seed(1)
    model = nn.Linear(4, 3).double()
    x, y = torch.randn(50, 4, generator=g, dtype=torch.float64), torch.randint(0, 3, (50,), generator=g)
    r = torch.softmax(model(x), 1).detach() - F.one_hot(y, 3)  # dL/dlogits of the mean loss, times n
    exact = torch.cat([(r.T @ x / len(y)).flatten(), r.mean(0)]).norm()
    assert dg.gradient_norm(model, x, y, batch=16) == pytest.approx(float(exact), rel=1e-10)


def test_each_units_weight_norm_is_the_norm_of_its_own_parameters():
    from warmstart.models import build_model

    model = build_model("mlp", (1, 40), 10, seed=0, width=8, depth=2)
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.fill_(i + 1.0)  # layer1: weight 1 (8x40), bias 2 (8); layer2: 3 (8x8), 4 (8); head: 5 (10x8), 6 (10)
    w = dg.weights(model, dg.flat_params(model), dg.flat_params(model))
    assert w["weight_norm_layer1"] == pytest.approx(math.sqrt(320 + 4 * 8))
    assert w["weight_norm_layer2"] == pytest.approx(math.sqrt(9 * 64 + 16 * 8))
    assert w["weight_norm_head"] == pytest.approx(math.sqrt(25 * 80 + 36 * 10))
    assert w["weight_norm"] ** 2 == pytest.approx(sum(w[f"weight_norm_{u}"] ** 2 for u in ("layer1", "layer2", "head")))


def test_activations_sees_every_relu_and_the_penultimate_features():
    from warmstart.models import build_model

    model = build_model("resnet", (1, 40), 10, seed=0, width=4, depth=1)
    relus, feats = dg.activations(model, torch.randn(6, 1, 40))
    assert len(relus) == 1 + 4 * 2  # stem + two per basic block
    assert feats.shape == (6, 32)


def test_diagnostic_subsets_are_drawn_from_each_half_apart_from_the_nested_subsets():
    from warmstart.data import nested_subsets
    from warmstart.diagnosis import diagnostic_subsets

    nested = nested_subsets(4000, [0.25, 0.5], seed=0)
    halves = diagnostic_subsets(4000, nested[0.5], size=1000, seed=0)
    seen, unseen = set(halves["seen"].tolist()), set(halves["unseen"].tolist())
    assert len(seen) == len(unseen) == 1000
    assert seen <= set(nested[0.5].tolist()) and not unseen & set(nested[0.5].tolist())
    # the old draw, a permutation with the subsets' seed, was exactly the 25% subset
    assert len(seen & set(nested[0.25].tolist())) < 700  # about half of it, as for any random draw from the 50%
    assert torch.equal(diagnostic_subsets(4000, nested[0.5], 1000, 0)["seen"], halves["seen"])


def test_runs_diagnosed_in_one_process_get_the_rows_each_gets_alone_in_any_order(mnist1d_file, tmp_path):
    """A ``diagnose`` job measures a batch of runs in one process: nothing of one run (random
    probes, model state, the data) may reach the next, so each run's rows equal those it gets alone."""
    from warmstart import data
    from warmstart.atomic import save_checked
    from warmstart.diagnosis import diagnose_batch
    from warmstart.models import build_model

    meta = data.load(mnist1d_file)["meta"]
    seen = tmp_path / "seen.pt"
    torch.save(torch.arange(150), seen)
    jobs = []
    for s in (0, 1, 2):
        spec = {"id": f"toy/seed~{s}", "model": {"name": "mlp", "width": 16, "depth": 2}, "init_seed": s, "epochs": 3, "intervention": None}
        states = [build_model("mlp", meta["input_shape"], 10, seed=10 * s + k, width=16, depth=2).state_dict() for k in range(3)]
        save_checked({"model": states[2], "snapshots": {0: states[0], 1: states[1]}}, tmp_path / f"{s}.pt")
        jobs.append({"spec": spec, "model": str(tmp_path / f"{s}.pt"), "seen": str(seen), "epochs": [0, 1, 3], "noise_epochs": [1]})
    settings = {"subset": 40, "subset_seed": 0, "hessian": {"top_k": 2, "lanczos_iters": 4, "trace_samples": 2}, "dead_threshold": 0.99}
    together = diagnose_batch(jobs, str(mnist1d_file), settings)
    alone = [row for j in jobs for row in diagnose_batch([j], str(mnist1d_file), settings)]
    backwards = diagnose_batch(list(reversed(jobs)), str(mnist1d_file), settings)  # one process, the other order
    key = lambda r: (r["run"], r["epoch"], r["half"], r["quantity"])  # noqa: E731
    assert len(together) == len(alone) > 0 and {r["run"] for r in together} == {"toy/seed~0", "toy/seed~1", "toy/seed~2"}
    assert together == alone  # the same rows, in the same order, bit for bit
    assert sorted(together, key=key) == sorted(backwards, key=key)  # whatever ran before
    assert len({key(r) for r in together}) == len(together)
