import pickle

import numpy as np
import pytest
import torch
from scipy.io import savemat

from warmstart import data


def test_mnist1d_is_generated_deterministically_with_the_requested_sizes():
    a = data.make_mnist1d(300, 100, seed=1)
    b = data.make_mnist1d(300, 100, seed=1)
    c = data.make_mnist1d(300, 100, seed=2)
    assert a["x_train"].shape == (300, 1, 40) and a["x_test"].shape == (100, 1, 40)
    assert torch.equal(a["x_train"], b["x_train"]) and torch.equal(a["y_test"], b["y_test"])
    assert not torch.equal(a["x_train"], c["x_train"])
    assert set(a["y_train"].tolist()) == set(range(10))


def test_saved_data_set_loads_with_its_metadata(mnist1d_file):
    d = data.load(mnist1d_file)
    assert d["meta"]["input_shape"] == [1, 40] and d["meta"]["num_classes"] == 10
    assert d["x_train"].dtype == torch.float32 and d["y_train"].dtype == torch.int64


def test_subsets_are_nested_and_of_the_right_size():
    s = data.nested_subsets(1000, [0.1, 0.25, 0.5, 0.9], seed=3)
    assert [len(s[f]) for f in (0.1, 0.25, 0.5, 0.9)] == [100, 250, 500, 900]
    for small, large in ((0.1, 0.25), (0.25, 0.5), (0.5, 0.9)):
        assert set(s[small].tolist()) <= set(s[large].tolist())
    assert len(set(s[0.5].tolist())) == 500
    # one fraction asked alone is the same subset as asked with others (one file per fraction)
    assert torch.equal(data.nested_subsets(1000, [0.25], seed=3)[0.25], s[0.25])


@pytest.mark.parametrize("name,classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar_is_read_from_torchvisions_layout_without_network(tmp_path, name, classes):
    data.write_synthetic_cifar(tmp_path, name, num_train=300, num_test=60)
    d = data.prepare(name, root=tmp_path, download=False)
    assert d["x_train"].shape == (300, 3, 32, 32) and d["x_train"].dtype == torch.uint8
    assert d["x_test"].shape == (60, 3, 32, 32)
    assert set(d["y_train"].tolist()) <= set(range(classes)) and d["meta"]["num_classes"] <= classes
    raw = pickle.load(open(tmp_path / data._FILES[name][0], "rb"))
    assert torch.equal(d["x_train"][0].reshape(-1), torch.from_numpy(raw["data"][0]))  # row-major CHW, as torchvision
    out = tmp_path / "prepared.pt"
    data.save(d, out)
    loaded = data.load(out)
    assert abs(loaded["x_train"].mean().item()) < 1e-5  # standardised with the training statistics
    assert torch.allclose(loaded["x_train"].std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3)


def test_svhn_is_read_from_torchvisions_mat_files(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 5), ("test", 3)):
        savemat(
            tmp_path / f"{split}_32x32.mat",
            {"X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8), "y": np.array([[10], [1], [2], [3], [4]][:n])},
        )
    d = data.prepare("svhn", root=tmp_path, download=False)
    assert d["x_train"].shape == (5, 3, 32, 32)
    assert d["y_train"].tolist() == [0, 1, 2, 3, 4]  # SVHN's label 10 is the digit 0


def test_missing_data_set_without_download_names_the_directory_and_files(tmp_path):
    with pytest.raises(data.DataError) as e:
        data.prepare("cifar10", root=tmp_path / "nowhere", download=False)
    msg = str(e.value)
    assert "\n" not in msg and str((tmp_path / "nowhere").resolve()) in msg and "cifar-10-batches-py/data_batch_1" in msg


def test_failed_download_is_one_line_naming_the_directory(tmp_path, monkeypatch):
    def no_network(name, root):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data, "_download", no_network)
    with pytest.raises(data.DataError) as e:
        data.prepare("svhn", root=tmp_path, download=True)
    msg = str(e.value)
    assert "\n" not in msg and "download failed" in msg and str(tmp_path.resolve()) in msg and "train_32x32.mat" in msg


def test_a_new_mnist1d_test_set_keeps_the_training_set():
    from warmstart import data

    a = data.prepare("mnist1d", num_train=200, num_test=100)
    b = data.prepare("mnist1d", num_train=200, num_test=100, test_seed=4242)
    assert torch.equal(a["x_train"], b["x_train"]) and torch.equal(a["y_train"], b["y_train"])
    assert b["x_test"].shape == a["x_test"].shape and not torch.equal(a["x_test"], b["x_test"])


def test_the_digits_are_scikit_learns_split_once_into_declared_disjoint_halves_and_standardised(tmp_path):
    from sklearn.datasets import load_digits

    d = data.prepare("digits")
    assert d["x_train"].shape == (1300, 1, 8, 8) and d["x_test"].shape == (data.DIGITS_TEST, 1, 8, 8) and d["meta"]["num_classes"] == 10
    images = torch.tensor(load_digits().images, dtype=torch.uint8).reshape(1797, -1)
    rows = {tuple(r) for r in torch.cat([d["x_train"], d["x_test"]]).reshape(1797, -1).tolist()}
    assert rows == {tuple(r) for r in images.tolist()}  # every image once, none invented
    assert torch.equal(data.prepare("digits")["x_test"], d["x_test"])  # the split is fixed
    data.save(d, tmp_path / "digits.pt")
    x = data.load(tmp_path / "digits.pt")["x_train"]
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-3  # standardised with the training set's statistics


def test_corrupted_labels_change_exactly_the_declared_share_of_the_subset_to_another_class():
    y = torch.randint(0, 10, (1000,), generator=torch.Generator().manual_seed(0))
    subset = torch.arange(0, 1000, 2)
    noisy = data.corrupt_labels(y, subset, 0.5, seed=3, classes=10)
    changed = (noisy != y).nonzero().flatten()
    assert len(changed) == 250 and torch.isin(changed, subset).all()  # round(0.5 * 500), all inside the subset
    assert torch.equal(noisy, data.corrupt_labels(y, subset, 0.5, seed=3, classes=10))  # one corruption for every seed of the study
    assert not torch.equal(noisy, data.corrupt_labels(y, subset, 0.5, seed=4, classes=10))
    new = noisy[changed]
    assert (new >= 0).all() and (new < 10).all() and len(new.unique()) == 10  # to every class, never the true one


def _fake_fashion(root, n_train=50, n_test=20, seed=0):
    """Fashion-MNIST's four files under ``root``, small, in the real gzipped IDX format."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        data.write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        data.write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return rng


def test_fashion_mnist_idx_files_are_read_as_written(tmp_path):
    _fake_fashion(tmp_path)
    rng = np.random.default_rng(0)  # the same draws, in the same order
    images, labels = rng.integers(0, 256, (50, 28, 28)), rng.integers(0, 10, 50)
    d = data.read_fashion_mnist(tmp_path, verify=False)
    assert d["x_train"].shape == (50, 1, 28, 28) and d["x_train"].dtype == torch.uint8 and d["x_test"].shape == (20, 1, 28, 28)
    assert np.array_equal(d["x_train"][:, 0].numpy(), images) and np.array_equal(d["y_train"].numpy(), labels)
    assert d["y_train"].dtype == torch.int64


def test_fashion_mnist_files_that_are_not_the_originals_are_refused_naming_the_file(tmp_path):
    _fake_fashion(tmp_path)
    refused = r"^fashion_mnist: .*train-images-idx3-ubyte.gz is not Fashion-MNIST's train-images-idx3-ubyte"
    with pytest.raises(data.DataError, match=refused):
        data.prepare("fashion_mnist", root=tmp_path, download=False)


def test_a_truncated_fashion_mnist_file_is_one_line_naming_it(tmp_path):
    """An interrupted download leaves a truncated file: one line naming it, no traceback."""
    _fake_fashion(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(data.DataError, match=rf"^fashion_mnist: {path} is not a readable gzip file \(EOFError\): delete it"):
        data.read_fashion_mnist(tmp_path, verify=False)


def test_fashion_mnist_uncompressed_files_are_read_too(tmp_path):
    import gzip

    _fake_fashion(tmp_path)
    expected = data.read_fashion_mnist(tmp_path, verify=False)
    for f in data.FASHION_MNIST:  # as torchvision leaves them beside the archives, here alone
        (tmp_path / f).write_bytes(gzip.decompress((tmp_path / f"{f}.gz").read_bytes()))
        (tmp_path / f"{f}.gz").unlink()
    assert all(torch.equal(expected[k], v) for k, v in data.read_fashion_mnist(tmp_path, verify=False).items())


def test_fashion_mnist_is_found_in_torchvisions_raw_folder(tmp_path):
    raw = tmp_path / "FashionMNIST/raw"
    raw.mkdir(parents=True)
    _fake_fashion(raw)
    assert data.find_fashion_mnist(tmp_path) == raw


def test_fashion_mnist_missing_is_one_line_naming_the_package_and_the_root(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM", tmp_path / "no-system-copy")
    with pytest.raises(data.DataError) as e:
        data.prepare("fashion_mnist", root=tmp_path / "empty", download=False)
    message = str(e.value)
    assert "\n" not in message and "apt-get install dataset-fashion-mnist" in message and "dataset.root" in message
    assert str((tmp_path / "empty").resolve()) in message and "download disabled" in message


def test_the_real_fashion_mnist_files_when_installed():
    if data._fashion_dir(data.FASHION_MNIST_SYSTEM) is None:
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({data.FASHION_MNIST_SYSTEM}): apt-get install dataset-fashion-mnist")
    d = data.prepare("fashion_mnist", root="/nonexistent", download=False)  # the system copy, checksums verified
    assert d["x_train"].shape == (60000, 1, 28, 28) and d["x_test"].shape == (10000, 1, 28, 28)
    assert d["y_test"].bincount().tolist() == [1000] * 10 and d["y_train"].bincount().tolist() == [6000] * 10
    assert d["y_train"][:5].tolist() == [9, 0, 0, 3, 0]  # the original files' first labels: ankle boot, T-shirt, T-shirt, dress, T-shirt
    assert d["meta"]["mean"] == pytest.approx([0.2860], abs=1e-4) and d["meta"]["std"] == pytest.approx([0.3530], abs=1e-4)
