import pytest
import torch

from warmstart.models import build_model, units


@pytest.mark.parametrize("shape", [(1, 40), (3, 32, 32)])
@pytest.mark.parametrize(
    "name,expected_units",
    [
        ("resnet", ["stem", "module1", "module2", "module3", "module4", "head"]),
        ("mlp", ["layer1", "layer2", "head"]),
        ("cnn", ["conv1", "conv2", "conv3", "head"]),
        ("logreg", ["head"]),
    ],
)
def test_models_have_named_units_and_map_inputs_to_logits(name, expected_units, shape):
    kwargs = {"width": 8, "depth": 2} if name == "resnet" else {}
    model = build_model(name, shape, 10, seed=0, **kwargs)
    assert units(model) == expected_units
    assert model(torch.randn(4, *shape)).shape == (4, 10)


def test_resnet18_has_the_cifar_layout_parameter_count():
    # He et al. 2016's CIFAR ResNet-18 with (64, 128, 256, 512) channels: 11,173,962 parameters.
    model = build_model("resnet", (3, 32, 32), 10, seed=0, width=64, depth=2)
    assert sum(p.numel() for p in model.parameters()) == 11_173_962
    assert [len(model.get_submodule(f"module{i}")) for i in range(1, 5)] == [2, 2, 2, 2]


def test_width_and_depth_shape_the_resnet():
    m = build_model("resnet", (1, 40), 10, seed=0, width=4, depth=3)
    assert [len(m.get_submodule(f"module{i}")) for i in range(1, 5)] == [3] * 4
    assert m.get_submodule("module4")[0].conv1.out_channels == 32
    assert m.get_submodule("head")[-1].in_features == 32


def test_the_same_seed_gives_the_same_initialisation_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model("mlp", (1, 40), 10, seed=5)
    assert torch.equal(torch.rand(1), before)
    b = build_model("mlp", (1, 40), 10, seed=5)
    c = build_model("mlp", (1, 40), 10, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.state_dict()["head.0.weight"], c.state_dict()["head.0.weight"])


def test_the_mlp_variants_put_a_layernorm_before_each_activation_or_concatenate_both_relus():
    from warmstart.models import CReLU

    x = torch.randn(5, 1, 40, generator=torch.Generator().manual_seed(0))
    ln = build_model("mlp", (1, 40), 10, seed=0, width=8, depth=2, norm="layernorm")
    plain = build_model("mlp", (1, 40), 10, seed=0, width=8, depth=2)
    h = ln.layer1[1](x.flatten(1))
    assert torch.equal(ln.layer1(x), torch.relu(torch.nn.functional.layer_norm(h, (8,), ln.layer1[2].weight, ln.layer1[2].bias)))
    assert torch.equal(ln.layer1[1].weight, plain.layer1[1].weight)  # the Linear layers drawn as in the plain network
    cr = build_model("mlp", (1, 40), 10, seed=0, width=8, depth=2, activation="crelu")
    h = cr.layer1[1](x.flatten(1))
    assert isinstance(cr.layer1[-1], CReLU) and torch.equal(cr.layer1(x), torch.cat([h.clamp(min=0), (-h).clamp(min=0)], 1))
    assert cr.layer2[0].in_features == 16 and cr.head[0].in_features == 16  # twice the features, twice the next layer's inputs
    with pytest.raises(ValueError, match="norm='batch'"):
        build_model("mlp", (1, 40), 10, seed=0, norm="batch")
