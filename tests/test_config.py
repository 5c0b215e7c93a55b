import copy
from pathlib import Path

import pytest
import yaml

from warmstart.config import ConfigError, validate

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def _default():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize("config", ["config.yaml", "configs/tiny.yaml", "configs/cifar10.yaml", "configs/confirm.yaml"])
def test_shipped_configs_are_valid(config):
    merged = _default()
    for key, value in yaml.safe_load((ROOT / config).read_text()).items():
        merged[key] = merged[key] | value if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    validate(merged, SCHEMA)


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
        (lambda c: c["train"].update(final_window=1000), "train.final_window", "exceeds"),
        (lambda c: c["diagnostics"].update(seeds=[0, 40]), "diagnostics.seeds", "not a seed of experiments.fraction"),
        (
            lambda c: c["experiments"]["shrink_perturb"].update(primary={"shrink": 0.3, "perturb": 0.1}),
            "experiments.shrink_perturb.primary",
            "must be a setting of the grid",
        ),  # fmt: skip
        (lambda c: c["experiments"]["pretrain_length"].update(few_epochs=7), "experiments.pretrain_length.few_epochs", "must be one of"),
        (lambda c: c["train"].update(tune_stop={"train_acc": 0.99}), "train.tune_stop", "'after' is a required property"),
        (
            lambda c: c["experiments"]["arena"]["arms"][1].update(strength=0.003),
            "experiments.arena.arms[1].strength",
            "must be one of experiments.arena.grids.l2_init.strength",
        ),
        (lambda c: c["experiments"]["arena"]["arms"][4].update(units="layer9"), "experiments.arena.arms[4].units", "must be all or one of"),
        (lambda c: c["experiments"]["arena"]["arms"].append({"name": "redo", "tau": 0.1}), "experiments.arena.arms[11]", "is not valid"),
        (lambda c: c["model"].update(name="resnet"), "experiments.arena.arms[8].name", "redo needs a model of Linear/Conv + ReLU units"),
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
