import pytest
import torch

from warmstart import data


@pytest.fixture(scope="session")
def mnist1d_file(tmp_path_factory):
    """A small MNIST-1D data set written in the pipeline's format."""
    path = tmp_path_factory.mktemp("data") / "data.pt"
    data.save(data.prepare("mnist1d", num_train=300, num_test=100), path)
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
