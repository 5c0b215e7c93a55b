"""Write a synthetic CIFAR-10 (or CIFAR-100) in torchvision's on-disk format, for a smoke run of
the paper's configuration where the real files cannot be fetched (``warmstart.data.write_synthetic_cifar``):

    python tools/synthetic_cifar.py data-smoke --train 10000 --test 2000
    snakemake --cores 16 --configfile configs/cifar10.yaml configs/cifar10-smoke.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warmstart.data import write_synthetic_cifar  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--name", choices=("cifar10", "cifar100"), default="cifar10")
    ap.add_argument("--train", type=int, default=50_000)
    ap.add_argument("--test", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_synthetic_cifar(a.root, a.name, a.train, a.test, a.seed)
