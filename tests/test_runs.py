import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config

from warmstart import experiments, runs
from warmstart.config import validate

ROOT = Path(__file__).resolve().parent.parent

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def study(seeds: int | None = None, **experiments) -> dict:
    """The tiny study merged over the default config exactly as Snakemake merges ``--configfile``
    (nested sections merge, lists are replaced), with only ``experiments`` enabled (all of the
    tiny config's if none is named)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    tiny = yaml.safe_load((ROOT / "configs/tiny.yaml").read_text())
    if seeds is not None:  # the study's seeds, and every section's that follows the tiny study's
        for section in tiny["experiments"].values():
            if section.get("seeds") == tiny["seeds"]:
                section["seeds"] = seeds
        tiny["seeds"] = seeds
    update_config(config, tiny)
    named = experiments or {k: {} for k in tiny["experiments"]}
    config["experiments"] = {k: v | named[k] if k in named else {"enabled": False} for k, v in config["experiments"].items()}
    return validate(config, ROOT / "workflow/schemas/config.schema.yaml")


def partner(table, row):
    return next(
        q
        for q in table.rows
        if q["experiment"] == row["experiment"] and q["condition"] == row["condition"] and q["seed"] == row["seed"] and q is not row
    )


def chain_root(table, run):
    while run["parent"]:
        run = table.runs[run["parent"]]
    return run


def test_every_row_is_paired_with_a_fresh_run_of_the_same_init_and_order():
    table = experiments.build(study())
    assert {r["experiment"] for r in table.rows} == set(experiments.EXPERIMENTS)
    for r in table.rows:
        if r["arm"] == "fresh":
            continue
        run, fresh = table.runs[r["run"]], table.runs[partner(table, r)["run"]]
        # tuning is on the full set; a round of the continual chain, on the same chunks for both
        data = run["subset"] if r["experiment"] == "chain" else None
        assert fresh["parent"] is None and fresh["subset"] == run["subset"] == data and fresh["shift"] is None
        assert run["order_seed"] == fresh["order_seed"], r  # same data order while tuning
        assert chain_root(table, run)["init_seed"] == fresh["init_seed"] == r["seed"]  # same initialisation
        assert run["epochs"] == fresh["epochs"]


def test_runs_are_shared_not_repeated():
    table = experiments.build(study())
    ids = [r["id"] for r in table.runs.values()]
    assert len(ids) == len(set(ids))
    fresh = {r["run"] for r in table.rows if r["arm"] == "fresh" and r["experiment"] in ("fraction", "reset", "stages")}
    assert len(fresh) == 2  # one plain fresh run per seed serves these experiments
    shift = {r["run"] for r in table.rows if r["arm"] == "fresh" and r["experiment"] == "smooth_shift"}
    assert len(shift) == 2 and not shift & fresh  # the smooth shift's own: read, like its shifted arm, after the drift
    # pretraining-length warm starts come from snapshots of one pretraining run per optimiser and seed
    pl = [table.runs[r["run"]] for r in table.rows if r["experiment"] == "pretrain_length" and r["arm"] == "warm"]
    parents = {p["parent"] for p in pl}
    cfg = study()["experiments"]["pretrain_length"]
    assert len(parents) == len(cfg["optimizers"]) * 2
    for parent in parents:
        assert {e for e in cfg["epochs"] if e != max(cfg["epochs"])} <= set(table.runs[parent]["save_epochs"])
        assert table.runs[parent]["epochs"] == max(cfg["epochs"])


def test_adding_a_seed_leaves_every_existing_run_unchanged():
    a = experiments.build(study())
    config = study()
    config["seeds"] = 3
    for e in config["experiments"].values():
        e.pop("seeds", None)
    b = experiments.build(config)
    assert all(b.runs[k] == v for k, v in a.runs.items() if "seed~2" not in k)


@pytest.mark.parametrize("mode", ["resample", "restore"])
def test_reset_sets_default_to_every_suffix_and_speed_reuses_them(mode):
    table = experiments.build(study(reset={"mode": mode}, speed={"mode": mode}))
    warm = [table.runs[r["run"]] for r in table.rows if r["experiment"] == "reset" and r["arm"] == "warm" and r["seed"] == 0]
    assert [w["reset"] for w in warm] == [[], ["head"], ["layer2", "head"], ["layer1", "layer2", "head"]]
    assert all(w["reset_mode"] == mode for w in warm[1:])
    assert all(w["id"].endswith("-resample/seed~0") == (mode == "resample") for w in warm[1:])  # restored runs keep their ids
    speed = {r["run"] for r in table.rows if r["experiment"] == "speed"}
    reset = {r["run"] for r in table.rows if r["experiment"] == "reset"}
    assert speed <= reset


def test_the_default_reset_is_the_papers_resampling():
    config = study()
    defaults = experiments.build(
        validate(config | {"experiments": {n: {"enabled": n == "reset"} for n in experiments.EXPERIMENTS}}, SCHEMA)
    )
    assert {r["reset_mode"] for r in defaults.runs.values() if r["reset"]} == {"resample"}


def test_a_run_defined_twice_differently_is_an_error():
    t = runs.RunTable(study())
    s = t.setting()
    t.run(s, "x", 0, runs.TUNE, lr=0.1)
    with pytest.raises(ValueError, match="defined twice"):
        t.run(s, "x", 0, runs.TUNE, lr=0.2)


def test_key_order_in_the_config_does_not_change_a_run():
    config = study()
    shuffled = copy.deepcopy(config)
    shuffled["model"] = dict(reversed(list(config["model"].items())))
    assert experiments.build(config).runs == experiments.build(shuffled).runs


def test_a_chain_round_starts_from_its_own_chains_last_round_on_nested_chunks():
    table = experiments.build(study())
    chunks = table.config["experiments"]["chain"]["chunks"]
    rows = [r for r in table.rows if r["experiment"] == "chain" and r["arm"] != "fresh"]
    assert {r["arm"] for r in rows} == {"warm", "l2_init", "cbp"}
    for r in rows:
        run = table.runs[r["run"]]
        if r["round"] == 1:  # round 1 is one run for every chain: the fresh start on the first chunk
            assert run["parent"] is None and "/fresh/round~1/" in run["id"] and run["intervention"] is None
            continue
        parent = table.runs[run["parent"]]
        previous = next(x for x in rows if x["arm"] == r["arm"] and x["seed"] == r["seed"] and x["round"] == r["round"] - 1)
        assert parent["id"] == previous["run"]  # its own chain's last round
        assert (run["intervention"] or {}).get("name", "warm") == r["arm"]  # the intervention acts from round 2 on
        size = lambda spec: 1.0 if spec["subset"] is None else float(spec["subset"].split("~")[1])  # noqa: E731
        assert size(parent) < size(run) and abs(size(run) - r["round"] / chunks) < 1e-6  # everything seen so far
    assert any(table.runs[r["run"]]["subset"] is None for r in rows)  # the last round is the full set


def test_reset_and_speed_can_run_on_a_model_of_six_units_and_share_its_runs():
    table = experiments.build(study(reset={"model": {"depth": 5}, "mode": "resample"}, speed={"model": {"depth": 5}, "mode": "resample"}))
    sets = {r["reset"] for r in table.rows if r["experiment"] == "reset" and r["arm"] == "warm"}
    assert sets == {"none", "head", "layer5+head", "layer4+layer5+head", "layer3+layer4+layer5+head", "layer2+layer3+layer4+layer5+head",
                    "layer1+layer2+layer3+layer4+layer5+head"}  # fmt: skip
    assert all(table.runs[r["run"]]["model"]["depth"] == 5 for r in table.rows if r["experiment"] in ("reset", "speed"))
    reset_runs = {r["run"] for r in table.rows if r["experiment"] == "reset"}
    assert {r["run"] for r in table.rows if r["experiment"] == "speed"} <= reset_runs  # keeping the first k units is a reset


def test_a_confirmation_study_shifts_every_seed_and_keeps_the_pairing():
    base = experiments.build(study())
    config = study()
    config["confirm"] = {"seed_offset": 1000, "original": None}
    shifted = experiments.build(config)
    assert {r["seed"] + 1000 for r in base.rows} == {r["seed"] for r in shifted.rows}
    assert all(r["init_seed"] >= 1000 and r["order_seed"][0] >= 1000 for r in shifted.runs.values())
    assert not set(base.runs) & set(shifted.runs)  # disjoint runs, the same structure
    assert sorted(k.rsplit("~", 1)[0] for k in base.runs) == sorted(k.rsplit("~", 1)[0] for k in shifted.runs)


def test_an_architectural_arm_is_a_network_of_its_own_with_its_own_pretraining_and_fresh_start():
    from torch import nn

    from warmstart.models import CReLU
    from warmstart.starts import fresh_model

    table = experiments.build(study(seeds=2))
    for name, variant, module in (("layernorm", {"norm": "layernorm"}, nn.LayerNorm), ("crelu", {"activation": "crelu"}, CReLU)):
        rows = [r for r in table.rows if r["experiment"] == "arena" and r["intervention"] == name]
        assert sorted((r["arm"], r["seed"]) for r in rows) == sorted([(name, 0), (name, 1), ("fresh", 0), ("fresh", 1)])
        for seed in (0, 1):
            pick = lambda fresh: next(r["run"] for r in rows if r["seed"] == seed and (r["arm"] == "fresh") == fresh)  # noqa: E731, B023
            warm, fresh = table.runs[pick(False)], table.runs[pick(True)]
            pre = table.runs[warm["parent"]]
            plain = table.runs[f"mnist1d/mlp/adam/fresh/seed~{seed}"]
            assert warm["model"] == fresh["model"] == pre["model"] == plain["model"] | variant  # its own network throughout
            assert fresh["id"] != plain["id"] and pre["init_seed"] == fresh["init_seed"] == seed and not pre["parent"]
            assert fresh["order_seed"] == warm["order_seed"] == plain["order_seed"]  # the same data order as every tuning run of the seed
            assert any(isinstance(m, module) for m in fresh_model(fresh, {"input_shape": [1, 40], "num_classes": 10}).modules())
            assert not any(isinstance(m, module) for m in fresh_model(plain, {"input_shape": [1, 40], "num_classes": 10}).modules())
    assert experiments.pair_differences(table) == []


def test_the_counterpoints_pair_by_seed_and_differ_only_in_what_they_test():
    table = experiments.build(study(seeds=2))
    rows = pd.DataFrame(table.rows)
    for seed in (0, 1):
        reg = rows[(rows.experiment == "regularised") & (rows.intervention == "parseval") & (rows.seed == seed)].set_index("arm").run
        arena_run = rows[(rows.experiment == "arena") & (rows.intervention == "parseval") & (rows.seed == seed)].set_index("arm").run
        warm, fresh = table.runs[reg["warm"]], table.runs[reg["fresh"]]
        plain_fresh = table.runs[f"mnist1d/mlp/adam/fresh/seed~{seed}"]
        assert reg["warm"] == arena_run["parseval"]  # the arena's run, trained once
        assert fresh["intervention"] == warm["intervention"] == {"name": "parseval", "strength": 0.001, "scale": 1}
        assert {k: v for k, v in fresh.items() if k not in ("id", "intervention")} == {
            k: v for k, v in plain_fresh.items() if k not in ("id", "intervention")
        }
        noisy = rows[(rows.experiment == "label_noise") & (rows.pretraining == "noisy") & (rows.seed == seed)]
        clean = rows[(rows.experiment == "label_noise") & (rows.pretraining == "clean") & (rows.seed == seed)]
        for (_, n), (_, c) in zip(noisy[noisy.arm != "fresh"].iterrows(), clean[clean.arm != "fresh"].iterrows(), strict=True):
            a, b = table.runs[n.run], table.runs[c.run]
            assert table.runs[a["parent"]]["corrupt_labels"] == {"rate": 0.5, "seed": 0} and not table.runs[b["parent"]]["corrupt_labels"]
            assert {k: v for k, v in a.items() if k not in ("id", "parent")} == {k: v for k, v in b.items() if k not in ("id", "parent")}
        aug = rows[(rows.experiment == "augmentation") & (rows.augmented == "yes") & (rows.seed == seed)].set_index("arm").run
        w, f = table.runs[aug["warm"]], table.runs[aug["fresh"]]
        assert w["augment"] == f["augment"] == table.runs[w["parent"]]["augment"] == {"noise": 0.05, "scale": 0.1, "shift": 3}


def test_a_run_trained_otherwise_than_planned_is_caught_and_an_older_provenance_is_not():
    """``drift``: the tables stop when a run was trained in another precision (``auto`` resolved on
    another CPU) than the study plans; a provenance written before a field existed (it lacks the
    field, which then has its default) agrees with the plan."""
    table = experiments.build(study(fraction={}))
    spec = next(iter(table.runs.values()))
    trained = json.loads(json.dumps(spec))
    assert runs.drift(spec, trained) == {}
    older = {k: v for k, v in trained.items() if k not in ("augment", "corrupt_labels")}
    assert runs.drift(spec, older) == {}
    assert runs.drift(spec, trained | {"precision": "bf16"}) == {"precision": ("bf16", "fp32")}


def test_the_arena_and_the_chain_diagnose_their_first_seeds_whatever_they_are():
    """``diagnostics_seeds: N`` is an experiment's first N seeds: a study on seeds 3000 and up
    diagnoses 3000.., not the absent 0..N-1 (which left nothing to diagnose and crashed the tables)."""
    config = study(arena={"seeds": [3000, 3001, 3002]}, chain={"seeds": [3005, 3006]})
    config["experiments"]["arena"]["diagnostics_seeds"] = 2
    config["experiments"]["chain"]["diagnostics_seeds"] = 1
    table = experiments.build(config)
    seeds = {e: {d["seed"] for d in table.diagnose if d["experiment"] == e} for e in ("arena", "chain")}
    assert seeds == {"arena": {3000, 3001}, "chain": {3005}}
    config["experiments"]["arena"]["diagnostics_seeds"] = [3001, 7]  # a list: those of its seeds
    assert {d["seed"] for d in experiments.build(config).diagnose if d["experiment"] == "arena"} == {3001}


def test_a_diagnostics_figure_exists_only_where_its_experiment_diagnoses_a_run():
    config = study()
    assert {"arena_diagnostics", "chain_diagnostics", "hypothesis"} <= set(experiments.figures(config))
    config["experiments"]["arena"]["diagnostics_seeds"] = 0
    config["experiments"]["chain"]["diagnostics_seeds"] = [99]  # none of its seeds
    figures = experiments.figures(config)
    assert "arena_diagnostics" not in figures and "chain_diagnostics" not in figures
    assert {"arena", "chain", "hypothesis"} <= set(figures)  # their other figures stay, the hypothesis diagnoses its own
