"""Data sets as in-memory tensors, and the nested pretraining subsets.

Every data set is prepared once into one tensor file (``save``) that every training job loads
whole (``load``): inputs ``x`` of shape ``(N, channels, *spatial)``, integer labels ``y``. Images
are kept as uint8 and standardised per channel on load with the training set's statistics.

* ``mnist1d``: generated offline by the ``mnist1d`` package (Greydanus 2020), never downloaded.
* ``digits``: the UCI handwritten digits that scikit-learn ships inside its package (1,797 8x8
  images, 16 grey levels, 10 classes; ``sklearn.datasets.load_digits``), offline; split once into
  ``DIGITS_TEST`` = 497 test and 1,300 training images by a permutation seeded 0 (``make_digits``).
* ``cifar10``, ``cifar100``, ``svhn``: read from torchvision's on-disk format under ``root``
  (``cifar-10-batches-py/``, ``cifar-100-python/``, ``{train,test}_32x32.mat``); fetched there
  with torchvision's downloader when missing and ``download`` is allowed.
* ``fashion_mnist``: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; 60,000 training and 10,000 test
  28x28 grey images, 10 classes), its four original gzipped IDX files read from ``root`` (or
  torchvision's ``root/FashionMNIST/raw``), else from where Debian's package
  ``dataset-fashion-mnist`` installs them (``FASHION_MNIST_SYSTEM``), offline; each file's size
  and the SHA-256 of its decompressed bytes are checked (``FASHION_MNIST``).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import zlib
from pathlib import Path

import numpy as np
import torch

from warmstart import names
from warmstart.atomic import atomic_save
from warmstart.errors import DataError
from warmstart.randomness import LABEL_NOISE, seeded

DATASETS = ("mnist1d", "digits", "cifar10", "cifar100", "svhn", "fashion_mnist")
DIGITS_TEST = 497  # the declared test split of ``digits`` (1,300 training images remain)

_FILES = {
    "cifar10": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)] + ["cifar-10-batches-py/test_batch"],
    "cifar100": ["cifar-100-python/train", "cifar-100-python/test"],
    "svhn": ["train_32x32.mat", "test_32x32.mat"],
}


# Fashion-MNIST's files: name -> (bytes decompressed, SHA-256 of the decompressed IDX bytes), as
# Debian's package dataset-fashion-mnist 0.0~git20200523.55506a9-1 ships them (the upstream
# repository's files; their gzip wrappers differ from torchvision's copies, so the contents are
# what is checked). IDX: big-endian magic 0x0803 (uint8, 3 dims) or 0x0801 (uint8, 1 dim), then the sizes.
FASHION_MNIST = {
    "train-images-idx3-ubyte": (47_040_016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (60_008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (7_840_016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (10_008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
FASHION_MNIST_SYSTEM = Path("/usr/share/datasets/fashion-mnist")  # where Debian's package puts them


def read_idx(raw: bytes) -> np.ndarray:
    """An IDX array of unsigned bytes (LeCun's MNIST format): magic ``0x08`` type and its number
    of dimensions, each size a big-endian int32, then the data in C order."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError("not an IDX file of unsigned bytes")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"IDX sizes {shape} do not match its {data.size} bytes")
    return data.reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """``array`` (uint8) as a gzipped IDX file, the format of MNIST's and Fashion-MNIST's files (for tests)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + a.tobytes())


def _fashion_dir(root: Path) -> Path | None:
    """The first of ``root``, torchvision's ``root/FashionMNIST/raw`` and Debian's folder that holds
    all four files (gzipped or not)."""
    for d in (root, root / "FashionMNIST" / "raw", FASHION_MNIST_SYSTEM):
        if all((d / f).is_file() or (d / f"{f}.gz").is_file() for f in FASHION_MNIST):
            return d
    return None


def read_fashion_mnist(d: Path, verify: bool = True) -> dict[str, torch.Tensor]:
    """The four files of folder ``d`` as ``(N, 1, 28, 28)`` uint8 images and int64 labels; with
    ``verify``, each file's decompressed size and SHA-256 must be ``FASHION_MNIST``'s (a
    ``DataError`` names the file otherwise)."""
    arrays = {}
    for f, (size, sha) in FASHION_MNIST.items():
        path = d / f"{f}.gz" if (d / f"{f}.gz").is_file() else d / f
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except (OSError, EOFError, zlib.error) as e:  # truncated (an interrupted download) or not gzip at all
            raise DataError(f"fashion_mnist: {path} is not a readable gzip file ({type(e).__name__}): delete it and rerun, "
                            "or replace it with the original") from None  # fmt: skip
        if verify and (len(raw) != size or hashlib.sha256(raw).hexdigest() != sha):
            raise DataError(f"fashion_mnist: {path} is not Fashion-MNIST's {f} ({len(raw)} bytes, expected {size} with SHA-256 "
                            f"{sha[:12]}...): replace it with the original file")  # fmt: skip
        try:
            arrays[f] = read_idx(raw)
        except ValueError as e:
            raise DataError(f"fashion_mnist: {path}: {e}") from None
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        out[f"x_{split}"] = torch.from_numpy(arrays[f"{prefix}-images-idx3-ubyte"].copy()).unsqueeze(1)
        out[f"y_{split}"] = torch.from_numpy(arrays[f"{prefix}-labels-idx1-ubyte"].astype(np.int64))
    return out


def find_fashion_mnist(root: str | Path, download: bool = False) -> Path:
    """The folder holding Fashion-MNIST's files (``_fashion_dir``); with ``download``, fetched
    first into ``root`` by torchvision where they are nowhere (needs a network). Raises a one-line
    ``DataError`` naming the package and ``dataset.root`` when they cannot be found."""
    root = Path(root)
    found = _fashion_dir(root)
    reason = "download disabled (dataset.download: false)"
    if found is None and download:
        try:
            import torchvision.datasets as tvd

            tvd.FashionMNIST(str(root), download=True)
            reason = "the download did not produce them"
        except Exception as e:  # no network, a proxy, a full disk: all end the same way for the user
            reason = f"download failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        found = _fashion_dir(root)
    if found is None:
        raise DataError(
            f"fashion_mnist: not found in {root.resolve()} (or its FashionMNIST/raw) nor {FASHION_MNIST_SYSTEM}, and {reason}: "
            f"install Debian's package (apt-get install dataset-fashion-mnist), or copy {', '.join(f + '.gz' for f in FASHION_MNIST)} "
            "into dataset.root"
        )
    return found


def make_mnist1d(num_train: int = 4000, num_test: int = 1000, seed: int = 42) -> dict[str, torch.Tensor]:
    """MNIST-1D (Greydanus 2020) from the package's generator: 40-point signals, 10 classes."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_train + num_test, num_train / (num_train + num_test), seed
    d = make_dataset(args)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32).unsqueeze(1)  # noqa: E731
    return {"x_train": as_x(d["x"]), "y_train": torch.tensor(d["y"]), "x_test": as_x(d["x_test"]), "y_test": torch.tensor(d["y_test"])}


def make_digits() -> dict[str, torch.Tensor]:
    """scikit-learn's copy of the UCI digits as ``(N, 1, 8, 8)`` uint8 images (grey levels 0..16)
    and labels, split by ``torch.randperm(1797)`` seeded 0: its last ``DIGITS_TEST`` are the test set."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.uint8).unsqueeze(1)
    y = torch.tensor(d.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = order[: len(y) - DIGITS_TEST], order[len(y) - DIGITS_TEST :]
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _cifar(root: Path, name: str) -> dict[str, torch.Tensor]:
    files = [root / f for f in _FILES[name]]
    key = "labels" if name == "cifar10" else "fine_labels"
    parts = [_unpickle(f) for f in files]
    train, test = parts[:-1], parts[-1]
    to_x = lambda ps: torch.from_numpy(np.concatenate([p["data"] for p in ps]).reshape(-1, 3, 32, 32))  # noqa: E731
    to_y = lambda ps: torch.tensor(np.concatenate([p[key] for p in ps]), dtype=torch.int64)  # noqa: E731
    return {"x_train": to_x(train), "y_train": to_y(train), "x_test": to_x([test]), "y_test": to_y([test])}


def write_synthetic_cifar(root: str | Path, name: str = "cifar10", num_train: int = 50_000, num_test: int = 10_000, seed: int = 0) -> None:
    """Write a synthetic data set in CIFAR-10's or CIFAR-100's on-disk format under ``root``
    (pickled batches of uint8 rows in CHW order, as torchvision's downloader leaves them): each
    image is its class's fixed random pattern plus independent noise (pixel = clip(128 + 40 t_c +
    50 z)), so a ResNet can learn it but not at once. For tests of the reading path and smoke runs
    of the paper's configuration where the real files cannot be fetched."""
    classes, key = (10, "labels") if name == "cifar10" else (100, "fine_labels")
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((classes, 3072))
    files = _FILES[name]
    counts = np.diff(np.linspace(0, num_train, len(files), dtype=int)).tolist() + [num_test]  # train batches, then test
    for f, n in zip(files, counts):
        y = rng.integers(0, classes, n)
        x = np.clip(128 + 40 * templates[y] + 50 * rng.standard_normal((n, 3072)), 0, 255).astype(np.uint8)
        path = Path(root) / f
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump({"data": x, key: y.tolist()}, fh)


def _svhn(root: Path) -> dict[str, torch.Tensor]:
    from scipy.io import loadmat

    out = {}
    for split in ("train", "test"):
        m = loadmat(root / f"{split}_32x32.mat")
        out[f"x_{split}"] = torch.from_numpy(np.ascontiguousarray(m["X"].transpose(3, 2, 0, 1)))
        out[f"y_{split}"] = torch.tensor(m["y"].reshape(-1).astype(np.int64) % 10)  # label 10 is digit 0
    return out


def _download(name: str, root: Path) -> None:
    import torchvision.datasets as tvd

    if name == "svhn":
        for split in ("train", "test"):
            tvd.SVHN(str(root), split=split, download=True)
    else:
        cls = tvd.CIFAR10 if name == "cifar10" else tvd.CIFAR100
        cls(str(root), download=True)


def read_torchvision(name: str, root: str | Path, download: bool = True) -> dict[str, torch.Tensor]:
    """Read ``name`` from torchvision's on-disk layout under ``root``; download it first if files
    are missing and ``download`` is true. Raises ``DataError`` naming the directory and the
    expected files when the data set can be neither found nor fetched."""
    root = Path(root)
    missing = [f for f in _FILES[name] if not (root / f).is_file()]
    reason = "download disabled (dataset.download: false)"
    if missing and download:
        reason = "the download did not produce them"
        try:
            root.mkdir(parents=True, exist_ok=True)
            _download(name, root)
        except Exception as e:  # no network, a proxy, a full disk: all end the same way for the user
            reason = f"download failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        missing = [f for f in _FILES[name] if not (root / f).is_file()]
    if missing:
        raise DataError(
            f"{name}: not found in {root.resolve()} and {reason}; expected {', '.join(_FILES[name])} "
            f"there (torchvision's layout): copy them there, or set dataset.root to where they are"
        )
    return _svhn(root) if name == "svhn" else _cifar(root, name)


def prepare(
    name: str,
    root: str | Path = "data",
    download: bool = True,
    num_train: int = 4000,
    num_test: int = 1000,
    generator_seed: int = 42,
    test_seed: int | None = None,
) -> dict:
    """Tensors and metadata of data set ``name``, ready for ``save``; for MNIST-1D with
    ``test_seed``, the test set of a second generation from that seed (a new test set; the
    training set is ``generator_seed``'s)."""
    if name == "mnist1d":
        d = make_mnist1d(num_train, num_test, generator_seed)
        if test_seed is not None:
            new = make_mnist1d(num_train, num_test, test_seed)
            d |= {"x_test": new["x_test"], "y_test": new["y_test"]}
        mean, std = [0.0], [1.0]  # the generator already standardises
    elif name == "digits":
        d = make_digits()
        x = d["x_train"].float() / 16
        mean, std = x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()
        mean, std = [16 * m / 255 for m in mean], [16 * v / 255 for v in std]  # load() divides uint8 by 255
    elif name in _FILES or name == "fashion_mnist":
        d = read_fashion_mnist(find_fashion_mnist(root, download)) if name == "fashion_mnist" else read_torchvision(name, root, download)
        x = d["x_train"].float() / 255
        mean, std = x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()
    else:
        raise DataError(f"dataset.name: unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    num_classes = int(max(d["y_train"].max(), d["y_test"].max())) + 1
    return d | {"meta": {"name": name, "input_shape": list(d["x_train"].shape[1:]), "num_classes": num_classes, "mean": mean, "std": std}}


def save(data: dict, path: str | Path) -> None:
    atomic_save(data, path)


def load(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """Load a prepared data set onto ``device`` as float inputs standardised per channel."""
    d = torch.load(path, map_location="cpu", weights_only=True)
    meta = d["meta"]
    shape = (1, -1) + (1,) * (len(meta["input_shape"]) - 1)
    mean, std = torch.tensor(meta["mean"]).view(shape), torch.tensor(meta["std"]).view(shape)
    scale = 255.0 if d["x_train"].dtype == torch.uint8 else 1.0
    out = {k: ((d[k].float() / scale - mean) / std).to(device) for k in ("x_train", "x_test")}
    out |= {k: d[k].long().to(device) for k in ("y_train", "y_test")}
    return out | {"meta": meta}


def stage_subsets(y: torch.Tensor, n: int, r: float, seed: int) -> list[torch.Tensor]:
    """Training data of the stages of Berariu et al. 2021, Fig. 4, ``[D_1, ..., D_{n+1}]``.

    The classes are split into ``n + 1`` groups ``C_1..C_{n+1}`` and the examples into ``D_u``
    (a random fraction ``r``) and ``D_c``; ``D_u`` is split into ``n + 1`` parts, and
    ``D_i = D_{i-1} ∪ D_{u,i} ∪ {x ∈ D_c : class(x) ∈ C_i}`` with ``D_0 = ∅``, so that
    ``D_{n+1}`` is the whole set. A smaller ``r`` gives stages more unbalanced in class."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    n_u = round(r * len(y))
    d_u, d_c = order[:n_u], order[n_u:]
    groups = torch.randperm(int(y.max()) + 1, generator=g).tensor_split(n + 1)
    parts = d_u.tensor_split(n + 1)
    stages, current = [], torch.zeros(len(y), dtype=torch.bool)
    for part, classes in zip(parts, groups):
        current[part] = True
        current[d_c[torch.isin(y[d_c], classes)]] = True
        stages.append(current.nonzero().flatten())
    return stages


def subset_indices(name: str, y: torch.Tensor, seed: int) -> torch.Tensor:
    """Indices of the named training subset (``warmstart.names.subset``): a nested fraction
    (``nested_subsets``) or a stage of ``stage_subsets``."""
    kind, p = names.subset(name)
    if kind == "fraction":
        return nested_subsets(len(y), [p["fraction"]], seed)[p["fraction"]]
    return stage_subsets(y, p["n"], p["r"], seed)[p["i"] - 1]


def nested_subsets(n: int, fractions: list[float], seed: int) -> dict[float, torch.Tensor]:
    """Training-set indices for each fraction: the first ``round(f * n)`` of one random
    permutation, so smaller subsets lie inside larger ones (the 25% inside the 50%)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return {f: order[: max(1, round(f * n))].sort().values for f in fractions}


def corrupt_labels(y: torch.Tensor, subset: torch.Tensor, rate: float, seed: int, classes: int) -> torch.Tensor:
    """A copy of the labels ``y`` in which ``round(rate · |subset|)`` examples of ``subset``, drawn
    at random, carry a wrong label, drawn uniformly from the other classes (the label-noise warm
    start of Lee et al. 2024: pretraining labels corrupted at a declared rate); drawn from
    ``seeded(seed, LABEL_NOISE)``, so every seed's pretraining sees the same corruption, as it sees
    the same subset (a study's seeds vary initialisation and data order, not which labels are
    corrupted: its verdicts are conditional on that one draw, as on the one subset). ``classes``:
    the data set's number of classes."""
    g = seeded(seed, LABEL_NOISE)
    chosen = subset.cpu()[torch.randperm(len(subset), generator=g)[: round(rate * len(subset))]]
    out = y.clone()
    shift = torch.randint(1, classes, (len(chosen),), generator=g).to(y.device)
    out[chosen.to(y.device)] = (y[chosen.to(y.device)] + shift) % classes
    return out
