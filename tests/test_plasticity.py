"""The interventions that act during tuning or from the data (``warmstart.interventions``): each
against its defining property, on the stacked parameters a shard trains."""

import math

import pytest
import torch
import torch.nn.functional as F

from warmstart.interventions import during
from warmstart.interventions.cbp import ContinualBackprop
from warmstart.interventions.dash import dash, loss_gradient
from warmstart.interventions.hooks import hidden_layers
from warmstart.interventions.redo import ReDo, scores
from warmstart.interventions.sam import SAM, ascent
from warmstart.models import build_model
from warmstart.optim import Optimizer
from warmstart.train import Stack, per_example_loss

SEEDS = [0, 1, 2]


def _mlp(seed, width=16):
    return build_model("mlp", (1, 40), 10, seed=seed, width=width, depth=2)


def _stack(width=16):
    stack = Stack([_mlp(s, width) for s in SEEDS])
    return stack, Optimizer("adam", stack.params.values(), 1e-3)


def _batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(len(SEEDS), n, 40, generator=g), torch.randint(0, 10, (len(SEEDS), n), generator=g)


def _step(stack, opt, x, y):
    loss = per_example_loss(stack.forward(x), y).mean(1)
    opt.zero_grad()
    loss.sum().backward()
    opt.step()


def test_l2_init_is_the_squared_distance_to_each_seeds_own_initialisation_and_l2_to_zero():
    inits = [_mlp(s) for s in SEEDS]
    stack, _ = _stack()
    with torch.no_grad():
        for p in stack.params.values():
            p.add_(0.1 * torch.randn_like(p))
    hooks, plain = during({"name": "l2_init", "strength": 0.5}, lambda: inits), during({"name": "l2", "strength": 0.5}, lambda: inits)
    for i, model in enumerate(inits):
        dist = sum(((stack.params[k][i] - p) ** 2).sum() for k, p in model.named_parameters())
        norm = sum((stack.params[k][i] ** 2).sum() for k, _ in model.named_parameters())
        assert torch.allclose(hooks.penalty(stack.params)[i], 0.5 * dist) and torch.allclose(plain.penalty(stack.params)[i], 0.5 * norm)
    start = Stack(inits)
    assert torch.equal(hooks.penalty(start.params), torch.zeros(len(SEEDS)))  # zero at the initialisation, each seed its own
    hooks.select(torch.tensor([2]))  # seeds 0 and 1 finished: seed 2 keeps its own anchor
    last = {k: v[2:] for k, v in stack.params.items()}
    assert torch.allclose(hooks.penalty(last), during({"name": "l2_init", "strength": 0.5}, lambda: inits[2:]).penalty(last))


def test_sam_evaluates_the_gradient_at_theta_plus_rho_g_over_its_norm_per_seed_and_returns_exactly():
    stack, _ = _stack()
    x, y = _batch()
    loss = per_example_loss(stack.forward(x), y).mean(1)
    loss.sum().backward()
    theta = {k: p.detach().clone() for k, p in stack.params.items()}
    g = {k: p.grad.clone() for k, p in stack.params.items()}
    seen = {}

    def closure():
        seen.update({k: p.detach().clone() for k, p in stack.params.items()})
        for p in stack.params.values():
            p.grad = None
        per_example_loss(stack.forward(x), y).mean(1).sum().backward()

    SAM(rho=0.05).gradient(stack.params, closure)
    for i in range(len(SEEDS)):
        norm = math.sqrt(sum((g[k][i] ** 2).sum().item() for k in g))  # this seed's whole gradient
        for k in g:
            assert torch.allclose(seen[k][i] - theta[k][i], 0.05 * g[k][i] / norm, atol=1e-7)
    assert all(torch.equal(p, theta[k]) for k, p in stack.params.items())  # back at theta, bit for bit
    assert not all(torch.equal(p.grad, g[k]) for k, p in stack.params.items())  # the gradient is the perturbed one
    eps = ascent([g[k] for k in g], 0.05)
    assert torch.allclose(torch.stack([e.flatten(1).pow(2).sum(1) for e in eps]).sum(0).sqrt(), torch.full((3,), 0.05))


def _plant_dormant(stack, units):
    """Make ``units`` of layer 1 dormant in every seed: zero incoming weights, a negative bias."""
    with torch.no_grad():
        stack.params["layer1.1.weight"][:, units] = 0.0
        stack.params["layer1.1.bias"][:, units] = -1.0


def test_redo_recycles_exactly_the_planted_dormant_units_and_keeps_the_function():
    stack, opt = _stack()
    x, y = _batch()
    _step(stack, opt, x, y)  # moments are non-zero
    _plant_dormant(stack, [3, 7])
    before = {k: p.detach().clone() for k, p in stack.params.items()}
    moments = {k: [t.clone() for t in ts] for k, ts in opt.state.items()}
    out_before = stack.forward(x).detach()
    hooks = ReDo(tau=0.0, every=1)
    hooks.layers = hidden_layers(stack.base, "redo")[:1]  # layer 1 (layer 2 of seed 2 has a unit that died by itself)
    hooks.after_step(stack, opt, x, [(s, 1, 1, 1) for s in SEEDS])
    w, out = stack.params["layer1.1.weight"], stack.params["layer2.0.weight"]
    changed = (w != before["layer1.1.weight"]).any(2)  # (S, H): units whose incoming weights moved
    assert changed[:, [3, 7]].all() and changed.sum() == 2 * len(SEEDS)  # the planted units, and only them
    assert w[:, [3, 7]].abs().max() <= 1 / math.sqrt(40)  # drawn from the initialisation distribution U(±1/sqrt(fan_in))
    assert (out[:, :, [3, 7]] == 0).all() and torch.equal(out[:, :, :3], before["layer2.0.weight"][:, :, :3])
    keys = list(stack.params)
    for name in ("exp_avg", "exp_avg_sq"):
        new, old = opt.state[name], moments[name]
        assert (new[keys.index("layer1.1.weight")][:, [3, 7]] == 0).all() and (new[keys.index("layer2.0.weight")][:, :, [3, 7]] == 0).all()
        assert torch.equal(new[keys.index("layer1.1.weight")][:, 4], old[keys.index("layer1.1.weight")][:, 4])
    assert torch.allclose(stack.forward(x), out_before, atol=1e-6)  # outgoing weights 0: the network's function is unchanged
    assert not torch.equal(w[0, 3], w[1, 3])  # each seed draws its own


def test_the_dormancy_score_is_the_mean_absolute_activation_over_the_layer_mean():
    h = torch.tensor([[[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]]])  # (S=1, B=2, H=3)
    assert torch.allclose(scores(h), torch.tensor([[0.0, 2.0, 2.0]]) / (4 / 3))


def test_continual_backprop_replaces_the_lowest_utility_mature_unit_and_moves_its_mean_into_the_next_bias():
    stack, opt = _stack()
    x, y = _batch()
    with torch.no_grad():  # unit 5 of layer 1: a constant activation 0.5 and tiny outgoing weights, the lowest utility
        stack.params["layer1.1.weight"][:, 5] = 0.0
        stack.params["layer1.1.bias"][:, 5] = 0.5
        stack.params["layer2.0.weight"][:, :, 5] *= 1e-3
    hooks = ContinualBackprop(rate=1 / 16, decay=0.9, maturity=3)  # 16 eligible units: one replacement per step once mature
    for step in range(3):
        hooks.after_step(stack, opt, x, [(s, 1, 1, step) for s in SEEDS])
    assert hooks.replaced == 0  # nobody is older than the maturity threshold yet
    hooks.after_step(stack, opt, x, [(s, 1, 1, 3) for s in SEEDS])
    assert hooks.replaced == 2 * len(SEEDS)  # one unit per hidden layer per seed
    assert (stack.params["layer1.1.weight"][:, 5] != 0).all() and (stack.params["layer1.1.bias"][:, 5] == 0).all()
    assert (hooks.state[0]["age"][:, 5] == 0).all() and (hooks.state[0]["age"][:, 4] == 4).all()


def test_continual_backprop_keeps_layer_twos_input_when_the_replaced_unit_is_constant():
    stack, opt = _stack()
    x, y = _batch()
    with torch.no_grad():
        stack.params["layer1.1.weight"][:, 5] = 0.0
        stack.params["layer1.1.bias"][:, 5] = 0.5
        stack.params["layer2.0.weight"][:, :, 5] *= 1e-3
    hooks = ContinualBackprop(rate=1 / 16, decay=0.9, maturity=3)
    hooks.layers = hidden_layers(stack.base, "cbp")[:1]  # recycle layer 1 only
    w1, b1, w2, b2 = (stack.params[k] for k in ("layer1.1.weight", "layer1.1.bias", "layer2.0.weight", "layer2.0.bias"))

    def layer2_input(without: int | None = None) -> torch.Tensor:
        """Layer 2's pre-activation, leaving out unit ``without`` of layer 1's contribution."""
        h = torch.relu(torch.einsum("sbi,shi->sbh", x, w1) + b1[:, None])
        if without is not None:
            h[:, :, without] = 0
        return (torch.einsum("sbh,soh->sbo", h, w2) + b2[:, None]).detach()

    before = layer2_input()
    for step in range(4):
        hooks.after_step(stack, opt, x, [(s, 1, 1, step) for s in SEEDS])
    assert hooks.replaced == len(SEEDS) and (w2[:, :, 5] == 0).all() and (w1[:, 5] != 0).all()
    # the replaced unit's outgoing weights are 0 and its constant 0.5 (times its old weights) moved into the bias
    assert torch.allclose(layer2_input(), before, atol=1e-5)


def test_dash_scales_each_neuron_by_its_clamped_cosine_with_the_negative_gradient():
    model = _mlp(0)
    x, y = torch.randn(200, 1, 40), torch.randint(0, 10, (200,))
    g = loss_gradient(model, x, y)
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    dash(model, x, y, shrink=0.3)
    w, gw = before["layer1.1.weight"], -g["layer1.1.weight"]
    scale = F.cosine_similarity(w, gw, dim=1).clamp(0.3, 1.0)
    assert torch.allclose(model.layer1[1].weight, w * scale[:, None])
    assert scale.min() == 0.3  # at a random init most neurons are near orthogonal to the gradient: shrunk by lambda
    aligned = _mlp(0)
    with torch.no_grad():  # a neuron pointing along -g is kept whole
        aligned.layer1[1].weight[2] = gw[2] * 7
    g2 = loss_gradient(aligned, x, y)
    before2 = aligned.layer1[1].weight[2].clone()
    dash(aligned, x, y, shrink=0.3)
    cos = F.cosine_similarity(before2, -g2["layer1.1.weight"][2], dim=0)
    assert torch.allclose(aligned.layer1[1].weight[2], before2 * cos.clamp(0.3, 1.0))


def test_recycling_needs_plain_units_and_says_which_models():
    with pytest.raises(ValueError, match="redo needs the mlp or cnn model"):
        hidden_layers(build_model("resnet", (1, 40), 10, seed=0, width=4, depth=1), "redo")
    assert [layer.weight for layer in hidden_layers(build_model("cnn", (1, 40), 10, seed=0, width=4, depth=2), "cbp")] == [
        "conv1.0.weight", "conv2.0.weight"]  # fmt: skip


def test_parseval_is_the_squared_distance_of_each_hidden_gram_matrix_to_s_times_identity_per_seed():
    from warmstart.interventions.parseval import regularised_weights

    inits = [_mlp(s) for s in SEEDS]
    stack, _ = _stack()
    hooks = during({"name": "parseval", "strength": 0.3, "scale": 2.0}, lambda: inits)
    assert regularised_weights(inits[0]) == ["layer1.1.weight", "layer2.0.weight"]  # the head is left free
    for i in range(len(SEEDS)):
        brute = sum(((stack.params[k][i] @ stack.params[k][i].T - 2.0 * torch.eye(16)) ** 2).sum() for k in regularised_weights(inits[0]))
        assert torch.allclose(hooks.penalty(stack.params)[i], 0.3 * brute)
    with torch.no_grad():  # rows orthogonal with squared norm s: no penalty, whatever the head
        for k in regularised_weights(inits[0]):
            q, _ = torch.linalg.qr(torch.randn(stack.params[k].shape[2], 16, generator=torch.Generator().manual_seed(0)))
            stack.params[k].copy_(math.sqrt(2.0) * q.T.expand_as(stack.params[k]))
        stack.params["head.0.weight"].mul_(7)
    assert torch.allclose(hooks.penalty(stack.params), torch.zeros(len(SEEDS)), atol=1e-4)


def test_hare_and_tortoise_keep_an_ema_of_every_step_and_reset_the_hare_after_every_k_epochs():
    stack, opt = _stack()
    start = {k: v.detach().clone() for k, v in stack.params.items()}
    hooks = during({"name": "hare_tortoise", "ema": 0.9, "every": 2}, lambda: None)
    hooks.begin(stack)
    slow = {k: v.clone() for k, v in start.items()}
    for epoch in (1, 2, 3):
        for step in range(3):
            _step(stack, opt, *_batch(seed=10 * epoch + step))
            hooks.after_step(stack, opt, None, [])
            slow = {k: 0.9 * slow[k] + 0.1 * stack.params[k].detach() for k in slow}
        before = {k: v.detach().clone() for k, v in stack.params.items()}
        hooks.after_epoch(stack, epoch)
        for k, v in stack.params.items():
            assert torch.allclose(hooks.slow[k], slow[k], atol=1e-6)  # the Tortoise: the EMA of the Hare after every step
            # after epoch 2 (every = 2) the Hare is the Tortoise; otherwise untouched
            assert torch.equal(v, hooks.slow[k]) if epoch == 2 else torch.equal(v, before[k])
    kept = {k: v[[0, 2]].clone() for k, v in hooks.slow.items()}
    hooks.select(torch.tensor([0, 2]))  # seed 1 finished: the others keep their own Tortoise
    assert all(torch.equal(hooks.slow[k], kept[k]) for k in kept)


def test_plasticity_injection_keeps_the_function_exactly_and_trains_only_the_encoder_and_the_new_head():
    from warmstart.interventions.injection import Injected, inject

    warm, fresh = _mlp(0), _mlp(7)
    with torch.no_grad():
        for p in warm.parameters():
            p.add_(0.3)
    x = torch.randn(32, 1, 40, generator=torch.Generator().manual_seed(0))
    before, head = warm(x), {k: v.clone() for k, v in warm.head.state_dict().items()}
    n_trained = sum(p.numel() for p in warm.parameters())
    inject(warm, fresh)
    assert isinstance(warm.head[0], Injected)
    assert torch.equal(warm(x), before)  # exactly the warm network's function at the injection
    assert sum(p.numel() for p in warm.parameters()) == n_trained  # θ' replaces θ among the trained parameters
    assert torch.equal(warm.head[0].weight, fresh.head[0].weight) and torch.equal(warm.head[0].frozen_weight, fresh.head[0].weight)
    assert torch.equal(warm.head[0].old_weight, head["0.weight"]) and torch.equal(warm.head[0].old_bias, head["0.bias"])
    stack = Stack([warm])
    opt = Optimizer("adam", stack.params.values(), 1e-2)
    encoder = stack.params["layer1.1.weight"].detach().clone()
    _step(stack, opt, x[None, :, 0], torch.randint(0, 10, (1, 32)))
    assert not torch.equal(stack.params["layer1.1.weight"], encoder) and not torch.equal(
        stack.params["head.0.weight"][0], fresh.head[0].weight
    )
    assert torch.equal(stack.buffers["head.0.old_weight"][0], head["0.weight"])  # θ and θ'₀ frozen
    assert torch.equal(stack.buffers["head.0.frozen_weight"][0], fresh.head[0].weight)
