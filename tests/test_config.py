import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from warmstart import experiments
from warmstart.config import ConfigError, validate

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def _default():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def _merged(*files: str) -> dict:
    """The default with ``files`` laid over it as ``--configfile`` does (a recursive update)."""
    merged = _default()
    for f in files:
        update_config(merged, yaml.safe_load((ROOT / f).read_text()))
    validate(merged, SCHEMA)
    return merged


SHIPPED = [
    ["config.yaml"],
    ["configs/tiny.yaml"],
    ["configs/cifar10.yaml"],
    ["configs/confirm.yaml"],
    ["configs/cifar10.yaml", "configs/cifar10-smoke.yaml"],
    ["configs/cifar10.yaml", "configs/fashion-mnist-paper.yaml"],
]


@pytest.mark.parametrize("configs", SHIPPED)
def test_shipped_configs_are_valid(configs):
    _merged(*configs)


def test_the_paper_config_inherits_nothing_of_the_default_s_mnist1d_settings():
    """configs/cifar10.yaml is laid over config.yaml: an experiment key it leaves out keeps the
    default's, chosen for the MNIST-1D MLP (a deeper model for the resets, another learning rate,
    32 seeds). Every run must be the paper's ResNet-18 or a model an experiment names, at a rate
    the paper config names, on at most its seeds."""
    config = _merged("configs/cifar10.yaml")
    study = experiments.build(config)
    e = config["experiments"]
    models = {(config["model"]["name"], config["model"]["width"], config["model"]["depth"])}
    models |= {("resnet", w, d) for w in e["width_depth"]["widths"] for d in e["width_depth"]["depths"]}
    models |= {(m, *(e["table1"]["model_settings"].get(m, {}).get(k) for k in ("width", "depth"))) for m in e["table1"]["models"]}
    lrs = {config["train"]["lr"] * m for m in e["tune_lr"]["multipliers"]} | {o["lr"] for o in e["pretrain_length"]["optimizers"]}
    lrs |= set(e["table1"]["lr"].values())
    longest = max(config["train"]["pretrain_epochs"], config["train"]["tune_epochs"], e["stages"]["stage_epochs"])
    for run in study.runs.values():
        m = run["model"]
        assert m["name"] == "logreg" or (m["name"], m.get("width"), m.get("depth")) in models, run["id"]
        assert any(run["lr"] == pytest.approx(lr) for lr in lrs), run["id"]
        assert run["init_seed"] < max(config["seeds"], *(x.get("seeds") or 0 for x in e.values() if isinstance(x, dict))), run["id"]
        assert run["epochs"] <= longest, run["id"]
    assert max(x.get("seeds") or 0 for x in e.values() if isinstance(x, dict)) <= 3


@pytest.mark.parametrize(
    "edit,key,expected",
    [
        (lambda c: c["experiments"]["fraction"].update(fractions=[0.5, 1.5]), "experiments.fraction.fractions[1]", "maximum of 1"),
        (lambda c: c.update(seeds=0), "seeds", "minimum of 1"),
        (lambda c: c["train"].update(lrr=0.1), "train.lrr", "unknown key"),
        (lambda c: c["train"].update(lr="fast"), "train.lr", "not of type 'number'"),
        (lambda c: c["model"].update(name="vgg"), "model.name", "is not one of"),
        (lambda c: c["train"].update(device="tpu"), "train.device", "does not match"),
        (lambda c: c["experiments"]["fraction"].update(curves_fraction=0.3), "experiments.fraction.curves_fraction", "must be one of"),
        (lambda c: c["train"].update(final_window=20), "train.final_window", "unknown key"),  # the protocol reads every run
        (lambda c: c["protocol"]["read"].update(train_acc=0.5), "protocol.read.train_acc", "must lie above protocol.start_fit_validation"),
        (lambda c: c["protocol"].pop("read"), "protocol", "'read' is a required property"),
        (lambda c: c["experiments"]["smooth_shift"].update(shift_epochs=196), "experiments.smooth_shift.shift_epochs", "must not exceed"),
        (lambda c: c["diagnostics"].update(seeds=[0, 40]), "diagnostics.seeds", "not a seed of experiments.fraction"),
        (
            lambda c: c["experiments"]["shrink_perturb"].update(primary={"shrink": 0.3, "perturb": 0.1}),
            "experiments.shrink_perturb.primary",
            "must be a setting of the grid",
        ),  # fmt: skip
        (lambda c: c["experiments"]["pretrain_length"].update(few_epochs=7), "experiments.pretrain_length.few_epochs", "must be one of"),
        (lambda c: c["protocol"]["read"].update(after=20), "protocol.read.after", "unknown key"),
        (
            lambda c: c["experiments"]["arena"]["arms"][1].update(strength=0.003),
            "experiments.arena.arms[1].strength",
            "must be one of experiments.arena.grids.l2_init.strength",
        ),
        (lambda c: c["experiments"]["arena"]["arms"][4].update(units="layer9"), "experiments.arena.arms[4].units", "must be all or one of"),
        (
            lambda c: c["experiments"]["arena"]["arms"].append({"name": "redo", "tau": 0.1}),
            "experiments.arena.arms[16].every",
            "a required setting of redo",
        ),
        (
            lambda c: c["experiments"]["arena"]["arms"].append({"name": "adamw", "lr": 0.1}),
            "experiments.arena.arms[16].name",
            "unknown intervention 'adamw'",
        ),
        (lambda c: c["experiments"]["arena"]["arms"][0].update(rho=0.1), "experiments.arena.arms[0].rho", "has no setting 'rho'"),
        (lambda c: c["experiments"]["arena"]["arms"][0].update(strength=-1), "experiments.arena.arms[0].strength", "less than or equal to"),
        (lambda c: c["experiments"]["arena"]["grids"].update(adamw={"lr": [0.1]}), "experiments.arena.grids.adamw", "unknown intervention"),
        (lambda c: c["experiments"]["arena"]["grids"].update(reset={"units": [1]}), "experiments.arena.grids.reset.units", "not a numeric"),
        (  # the chain takes the arena's arms: they are checked when the arena itself is off
            lambda c: (c["experiments"]["arena"].update(enabled=False), c["experiments"]["arena"]["arms"].append({"name": "adamw"})),
            "experiments.arena.arms[16].name",
            "unknown intervention 'adamw'",
        ),
        (lambda c: c["model"].update(name="resnet"), "experiments.arena.arms[8].name", "redo applies to the models mlp, cnn only"),
        (
            lambda c: c["experiments"]["regularised"]["fresh"][0].update(strength=0.5),
            "experiments.regularised.fresh[0].strength",
            "must be one of",
        ),
        (lambda c: c["experiments"]["regularised"]["fresh"][1].update(rho=0.1), "experiments.regularised.fresh[1].rho", "has no setting"),
        (
            lambda c: c["experiments"]["regularised"]["fresh"].__setitem__(0, {"name": "sam", "rho": 0.1}),
            "experiments.regularised.fresh[0]",
            "must be a setting of 'l2'",
        ),
        (
            lambda c: c["experiments"]["regularised"].update(arms=["dash"]),
            "experiments.regularised.arms",
            "does not act only during tuning",
        ),
        (lambda c: c["experiments"]["label_noise"].update(arms=["l2"]), "experiments.label_noise.arms", "acts at the warm start"),
        (
            lambda c: c["experiments"]["augmentation"]["transforms"].update(scale=1.5),
            "experiments.augmentation.transforms.scale",
            "maximum",
        ),
        (
            lambda c: c["experiments"]["chain"].update(arms=["adamw"]),
            "experiments.chain.arms",
            "'adamw' is not an arm of experiments.arena",
        ),
    ],
)
def test_bad_config_gives_one_line_naming_the_key(edit, key, expected):
    config = _default()
    edit(config)
    with pytest.raises(ConfigError) as e:
        validate(config, SCHEMA)
    msg = str(e.value)
    assert msg.startswith(f"config key {key}:") and expected in msg and "\n" not in msg


def test_defaults_are_filled_in():
    config = _default()
    del config["train"]["weight_decay"], config["dataset"]["root"]
    out = validate(copy.deepcopy(config), SCHEMA)
    assert out["train"]["weight_decay"] == 0.0 and out["dataset"]["root"] == "data"


CPUINFO = "processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: fpu sse2 avx2 {extra}\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx2 {extra}\n"


@pytest.mark.parametrize(
    "extra, native",
    [("", False), ("avx512f avx512bw", False), ("avx512f avx512_bf16", True), ("amx_tile amx_bf16", True), ("avx512_bf16x", False)],
)
def test_native_bf16_is_read_from_the_cpu_flags(extra, native):
    from warmstart.config import native_bf16_cpu

    assert native_bf16_cpu(CPUINFO.format(vendor="GenuineIntel", extra=extra)) is native


@pytest.mark.parametrize(
    "native, device, expected", [(False, "cpu", "fp32"), (True, "cpu", "bf16"), (False, "cuda", "bf16"), (True, "cuda:1", "bf16")]
)
def test_auto_precision_is_bf16_where_it_is_native_and_explicit_settings_stay(monkeypatch, native, device, expected):
    from warmstart import config as config_module

    monkeypatch.setattr(config_module, "native_bf16_cpu", lambda: native)
    c = _default()
    c["train"]["device"] = device
    assert validate(copy.deepcopy(c), SCHEMA)["train"]["precision"] == expected
    c["train"]["precision"] = "fp32"
    assert validate(c, SCHEMA)["train"]["precision"] == "fp32"


def test_the_paper_setting_on_fashion_mnist_trains_resnet_18_on_it_alone():
    """configs/fashion-mnist-paper.yaml over configs/cifar10.yaml: every run on Fashion-MNIST, the
    study's networks ResNet-18 (or one an experiment names): the CIFAR-10 study's runs on CIFAR-10,
    on Fashion-MNIST instead (Table 1 on Fashion-MNIST only)."""
    fashion = experiments.build(_merged("configs/cifar10.yaml", "configs/fashion-mnist-paper.yaml"))
    cifar = experiments.build(_merged("configs/cifar10.yaml"))
    assert {r["dataset"] for r in fashion.runs.values()} == {"fashion_mnist"}
    assert {r["model"]["name"] for r in fashion.runs.values()} == {"resnet", "mlp", "logreg"}
    assert any(r["model"] == {"name": "resnet", "width": 64, "depth": 2} for r in fashion.runs.values())
    # the CIFAR-10 study's runs on CIFAR-10 (not Table 1's CIFAR-100 and SVHN ones), with the data set's name changed
    on_cifar10 = {k.removeprefix("cifar10/") for k in cifar.runs if k.startswith("cifar10/")}
    assert {k.removeprefix("fashion_mnist/") for k in fashion.runs} == on_cifar10
