import pytest
import torch
import torch.nn.functional as F

from warmstart.models import build_model
from warmstart.optim import OPTIMIZERS, Optimizer

LR = {"adam": 1e-3, "sgd": 0.1, "momentum": 0.01, "rmsprop": 1e-3}


def reference(foreach: bool):
    def make(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, foreach=foreach)
        if name == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay, foreach=foreach)
        momentum = 0.9 if name == "momentum" else 0.0
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=foreach)

    return make


def trajectory(make, name: str, weight_decay: float, steps: int = 30) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = build_model("cnn", (1, 40), 10, seed=3, width=8, depth=2)
    opt = make(name, model.parameters(), LR[name], weight_decay)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(32, 1, 40, generator=g), torch.randint(0, 10, (32,), generator=g)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bit_identical_to_torch_optim(name, weight_decay, foreach):
    """Both of torch's CPU implementations (foreach=False is its CPU default)."""
    ours, theirs = trajectory(Optimizer, name, weight_decay), trajectory(reference(foreach), name, weight_decay)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert not torch.equal(ours[0], trajectory(Optimizer, name, weight_decay, steps=0)[0])  # it did move


def quadratic_steps(opt: Optimizer, w: torch.Tensor, steps: range) -> None:
    for i in steps:
        opt.zero_grad()
        (w**2).sum().mul(i + 1).backward()
        opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_resumes_exactly(name):
    w = torch.randn(5, generator=torch.Generator().manual_seed(0))
    straight, resumed = w.clone().requires_grad_(), w.clone().requires_grad_()
    quadratic_steps(Optimizer(name, [straight], LR[name]), straight, range(10))
    first = Optimizer(name, [resumed], LR[name])
    quadratic_steps(first, resumed, range(5))
    second = Optimizer(name, [resumed], LR[name])
    second.load_state_dict(first.state_dict())
    quadratic_steps(second, resumed, range(5, 10))
    assert torch.equal(straight, resumed)


def test_unknown_optimizer_mismatched_state_and_missing_gradient_are_named():
    with pytest.raises(ValueError, match="optimizer: unknown optimizer 'lbfgs'"):
        Optimizer("lbfgs", [torch.zeros(1)], 0.1)
    with pytest.raises(ValueError, match="saved state is of 'sgd'"):
        Optimizer("adam", [torch.zeros(1)], 0.1).load_state_dict(Optimizer("sgd", [torch.zeros(1)], 0.1).state_dict())
    with pytest.raises(ValueError, match="every parameter needs a gradient"):
        Optimizer("adam", [torch.zeros(1, requires_grad=True)], 0.1).step()
