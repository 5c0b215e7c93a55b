"""Names of runs, shards and subsets: built and parsed in one place, values kept exactly."""

import pytest

from warmstart import names


@pytest.mark.parametrize("v", [0.5, 0.25, 1e-05, 0.02, 1 / 3, 0.1 + 0.2, 2.0, 1e300])
def test_a_fraction_in_a_subset_name_reads_back_as_the_same_float(v):
    kind, params = names.subset(names.fraction_subset(v))
    assert kind == "fraction" and params["fraction"] == v


def test_short_forms_are_kept_where_they_are_exact():
    # every name of the shipped configs: the run ids of the studies already run stay as they were
    values = (0.5, 0.001, 1e-05, 2.0, 0.333333, 7, "head")
    assert [names.value(v) for v in values] == ["0.5", "0.001", "1e-05", "2", "0.333333", "7", "head"]
    assert names.value(1 / 3) == "0.3333333333333333"


def test_a_stage_subset_reads_back_with_an_exponent_in_its_ratio():
    for r in (0.5, 1.0, 1e-05):
        assert names.subset(names.stages_subset(4, r, 2)) == ("stages", {"n": 4, "r": r, "i": 2})


@pytest.mark.parametrize("bad", ["fraction~", "fraction~x", "stages~4-r~0.5", "stages~4-r~0.5-stage~", "half~0.5", "fraction~0.5/x"])
def test_a_malformed_subset_name_is_refused_naming_the_forms(bad):
    with pytest.raises(ValueError, match="fraction~F or stages~N-r~R-stage~I"):
        names.subset(bad)


def test_runs_and_shards_round_trip():
    group = "mnist1d/mlp/adam/warm/fraction~0.5"
    assert names.split(names.run_id(group, 12)) == (group, 12)
    shard = names.shard(group, [3, 0, 1, 2, 7, 9, 10])
    assert shard == f"{group}/seeds~0-3,7,9-10"
    assert names.members(shard) == [names.run_id(group, s) for s in (0, 1, 2, 3, 7, 9, 10)]
    assert names.is_shard(shard) and not names.is_shard(names.run_id(group, 1))
    with pytest.raises(ValueError, match="seed~N"):
        names.split(group)


def test_conditions_and_segments():
    assert names.condition(fraction=0.5, arm="warm") == "fraction=0.5,arm=warm"
    assert names.segments(shrink=0.5, perturb=0.1) == "shrink~0.5-perturb~0.1"
