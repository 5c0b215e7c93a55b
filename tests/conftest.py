"""Shared fixtures, and the order of the suite: bare ``pytest`` runs the fast tests (``addopts`` in
pyproject.toml deselects ``slow``); ``pytest -m slow`` the end-to-end groups, each marked with what
it needs: ``slow_unit`` (a library test of a minute), ``workflow`` (the tiny study, trained once per session and shared), ``gpu_rehearsal``
(the GPU check on the CPU), ``slurm`` (a local SLURM and the executor plugin). Within a run, fast
tests come first, then the groups in that order, so that a broken unit fails in seconds."""

import pytest
import torch
from studies import copy_workflow, snakemake

from warmstart import data

GROUPS = ("slow_unit", "workflow", "gpu_rehearsal", "slurm")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        marks = {m.name for m in item.iter_markers()}
        return next((1 + i for i, g in enumerate(GROUPS) if g in marks), 0)

    items.sort(key=rank)  # stable: each group keeps its files' order


@pytest.fixture(scope="session")
def mnist1d_file(tmp_path_factory):
    """A small MNIST-1D data set written in the pipeline's format."""
    path = tmp_path_factory.mktemp("data") / "data.pt"
    data.save(data.prepare("mnist1d", num_train=300, num_test=100), path)
    return path


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The tiny study (``configs/tiny.yaml``: every experiment, seconds-long runs), trained once in
    a copy of the workflow and library: the tests that only read it share it; a test that changes
    a study works on its own copy (``shutil.copytree`` of this directory)."""
    d = copy_workflow(tmp_path_factory.mktemp("tiny"), "warmstart")
    out = snakemake(d, "--cores", "2", "--configfile", "configs/tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    return d


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
