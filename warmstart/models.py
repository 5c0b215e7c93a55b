"""Models of the two papers, each an ``nn.Sequential`` of named *units*.

Units are the granularity of the reset experiment (Berariu et al. 2021, Fig. 6): the CIFAR
ResNet-18 has six, ``stem, module1 .. module4, head``. The other models name their layers the
same way (``layer1, layer2, head`` for the MLP) so every intervention works on every model.
Convolutional models come in a 1-D (MNIST-1D) and a 2-D (images) variant, chosen by the rank of
the input shape ``(channels, *spatial)``.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

MODELS = ("mlp", "logreg", "cnn", "resnet")


def _conv(dim: int):
    return nn.Conv1d if dim == 1 else nn.Conv2d


def _bn(dim: int):
    return nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d


def _pool(dim: int):
    return nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)


class BasicBlock(nn.Module):
    """Residual basic block of He et al. 2016: two 3x3 convs with BN, identity or 1x1 shortcut."""

    def __init__(self, dim: int, c_in: int, c_out: int, stride: int):
        super().__init__()
        conv, bn = _conv(dim), _bn(dim)
        self.conv1 = conv(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = bn(c_out)
        self.conv2 = conv(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = bn(c_out)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()  # modules, so that diagnostics can hook them
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(conv(c_in, c_out, 1, stride, bias=False), bn(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet(input_shape: tuple[int, ...], num_classes: int, width: int = 64, depth: int = 2) -> nn.Sequential:
    """ResNet-18 in the CIFAR layout (Berariu et al. 2021): 3x3 stem, four modules of ``depth``
    basic blocks with (w, 2w, 4w, 8w) channels, strides (1, 2, 2, 2), global pooling, linear head.
    ``width=64, depth=2`` is ResNet-18."""
    dim, c = len(input_shape) - 1, input_shape[0]
    units = OrderedDict(stem=nn.Sequential(_conv(dim)(c, width, 3, 1, 1, bias=False), _bn(dim)(width), nn.ReLU()))
    c_in = width
    for i, mult in enumerate((1, 2, 4, 8)):
        c_out = width * mult
        blocks = [BasicBlock(dim, c_in if j == 0 else c_out, c_out, 1 if (i == 0 or j > 0) else 2) for j in range(depth)]
        units[f"module{i + 1}"] = nn.Sequential(*blocks)
        c_in = c_out
    units["head"] = nn.Sequential(_pool(dim), nn.Flatten(), nn.Linear(c_in, num_classes))
    return nn.Sequential(units)


def cnn(input_shape: tuple[int, ...], num_classes: int, width: int = 32, depth: int = 3) -> nn.Sequential:
    """Small CNN without BN: ``depth`` units of 3-wide conv + ReLU (stride 2 after the first),
    then global average pooling and a linear head."""
    dim, c = len(input_shape) - 1, input_shape[0]
    units = OrderedDict()
    for i in range(depth):
        units[f"conv{i + 1}"] = nn.Sequential(_conv(dim)(c if i == 0 else width, width, 3, 1 if i == 0 else 2, 1), nn.ReLU())
    units["head"] = nn.Sequential(_pool(dim), nn.Flatten(), nn.Linear(width, num_classes))
    return nn.Sequential(units)


class CReLU(nn.ReLU):
    """Concatenated ReLU (Shang et al. 2016; against loss of plasticity, Abbas et al. 2023):
    ``[relu(x), relu(−x)]`` along the last dimension, twice the features. A ``ReLU`` subclass, so
    that the diagnostics count its outputs as units."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], -1)


def mlp(
    input_shape: tuple[int, ...], num_classes: int, width: int = 100, depth: int = 2, norm: str = "none", activation: str = "relu"
) -> nn.Sequential:
    """Multi-layer perceptron of Ash & Adams 2020: ``depth`` hidden ReLU layers of ``width``
    units (their "3-layer MLP" is ``width=100, depth=2``), then a linear head. Variants (the
    arena's architectural arms): ``norm="layernorm"`` puts a LayerNorm (with its affine scale and
    shift) between each hidden Linear and its activation (as Lyle et al. 2023, 2024 use it against
    loss of plasticity); ``activation="crelu"`` replaces each ReLU by ``CReLU``, so each hidden
    layer gives ``2 · width`` features and the next layer has twice the inputs."""
    if norm not in ("none", "layernorm") or activation not in ("relu", "crelu"):
        raise ValueError(f"model: unknown mlp variant norm={norm!r}, activation={activation!r}; expected none|layernorm, relu|crelu")
    n, units = math.prod(input_shape), OrderedDict()
    for i in range(depth):
        layers = [*[nn.Flatten()] * (i == 0), nn.Linear(n, width), *[nn.LayerNorm(width)] * (norm == "layernorm")]
        units[f"layer{i + 1}"] = nn.Sequential(*layers, CReLU() if activation == "crelu" else nn.ReLU())
        n = width * (2 if activation == "crelu" else 1)
    units["head"] = nn.Sequential(*[nn.Flatten()] * (depth == 0), nn.Linear(n, num_classes))
    return nn.Sequential(units)


def logreg(input_shape: tuple[int, ...], num_classes: int, **_: int) -> nn.Sequential:
    """Multinomial logistic regression: one linear unit ``head`` (convex, the control of Table 1)."""
    return mlp(input_shape, num_classes, depth=0)


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, seed: int, **kwargs: int) -> nn.Sequential:
    """Build model ``name`` with PyTorch's default initialisation drawn from ``seed`` alone,
    so that the same seed always gives the same initial parameters."""
    builders = {"mlp": mlp, "logreg": logreg, "cnn": cnn, "resnet": resnet}
    if name not in builders:
        raise ValueError(f"model.name: unknown model {name!r}; expected one of {', '.join(MODELS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builders[name](tuple(input_shape), num_classes, **kwargs)


def units(model: nn.Sequential) -> list[str]:  # equals warmstart.units.unit_names(name, depth)
    """Names of the model's units, input to output."""
    return [name for name, _ in model.named_children()]
