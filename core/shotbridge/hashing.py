"""Content hashes: assets are named by the sha256 of their bytes, everywhere."""

from __future__ import annotations

import hashlib
import os

CHUNK = 1 << 20  # 1 MiB: large enough that per-chunk overhead vanishes, small enough to keep memory flat


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
