"""Files that are either complete or absent: write under a temporary name, then rename.

Checkpoints carry a SHA-256 of their payload so that a truncated or corrupted file is reported
with its path instead of being loaded (``load_checked``).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from warmstart.errors import CorruptFile


def atomic_write_bytes(data: bytes, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(text: str, path: str | Path) -> None:
    atomic_write_bytes(text.encode(), path)


def atomic_save(obj: object, path: str | Path) -> None:
    """``torch.save`` that never leaves a partial file at ``path``."""
    import torch  # here, not above: table and figure jobs write text without loading torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(buf.getvalue(), path)


def save_checked(obj: object, path: str | Path) -> None:
    """``atomic_save`` of ``obj`` wrapped with the SHA-256 of its serialisation."""
    import torch  # here, not above: table and figure jobs write text without loading torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    atomic_save({"sha256": hashlib.sha256(payload).hexdigest(), "payload": payload}, path)


def load_checked(path: str | Path) -> object:
    """Load a file written by ``save_checked``; raise ``CorruptFile`` naming ``path`` if it is
    truncated, unreadable or does not match its checksum."""
    import torch  # here, not above: table and figure jobs write text without loading torch

    try:
        wrapped = torch.load(path, map_location="cpu", weights_only=True)
        ok = hashlib.sha256(wrapped["payload"]).hexdigest() == wrapped["sha256"]
    except Exception as e:
        raise CorruptFile(f"{path}: unreadable checkpoint ({type(e).__name__}); delete it to start the run afresh") from None
    if not ok:
        raise CorruptFile(f"{path}: checksum mismatch; delete it to start the run afresh")
    return torch.load(io.BytesIO(wrapped["payload"]), map_location="cpu", weights_only=True)
