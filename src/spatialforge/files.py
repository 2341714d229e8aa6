"""Small file helpers shared across the package: content digests and atomic writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (raises OSError for an unreadable file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write `data` to `<path>.partial`, then rename it to `path`: a reader never sees half a file."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    if isinstance(data, bytes):
        partial.write_bytes(data)
    else:
        partial.write_text(data, encoding="utf-8")
    os.replace(partial, target)
