"""The asset store under failure: nothing partial is ever left under an asset's name."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import os
import time

import pytest

from shotbridge_backend import store as store_mod
from shotbridge_backend.store import AssetStore, StoreError


async def _chunks(data: bytes, size: int = 1000):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_receive_verifies_and_names_by_hash(tmp_path):
    store = AssetStore(tmp_path)
    data = b"x" * 5000
    sha = hashlib.sha256(data).hexdigest()
    assert asyncio.run(store.receive(_chunks(data), sha, 10_000)) == 5000
    assert store.path(sha).read_bytes() == data
    assert not list(store.tmp.iterdir())


def test_disk_full_mid_write_keeps_nothing(tmp_path, monkeypatch):
    store = AssetStore(tmp_path)
    real_open = open

    class FillsUp(io.FileIO):
        written = 0

        def write(self, b):
            FillsUp.written += len(b)
            if FillsUp.written > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(b)

    monkeypatch.setattr(store_mod, "open", lambda p, mode, **kw: FillsUp(p, "w") if "w" in mode else real_open(p, mode),
                        raising=False)
    data = b"y" * 5000
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(StoreError) as exc:
        asyncio.run(store.receive(_chunks(data), sha, 10_000))
    assert exc.value.status == 507 and "disk space" in exc.value.detail
    assert not store.path(sha).exists()
    assert not list(store.tmp.iterdir())


def test_clean_partial_removes_leftovers(tmp_path):
    store = AssetStore(tmp_path)
    (store.tmp / "abc.part").write_bytes(b"half")
    assert store.clean_partial() == 1
    assert not list(store.tmp.iterdir())


def test_on_shared_storage_only_stale_partial_writes_are_removed(tmp_path):
    """Studio mode: a replica's start must not remove what another process is writing right now."""
    store = AssetStore(tmp_path / "assets")
    stale, fresh = store.tmp / "stale.part", store.tmp / "fresh.part"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"another worker is writing this")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert store.clean_partial(older_than=3600) == 1
    assert not stale.exists() and fresh.exists()
    assert store.clean_partial() == 1 and not fresh.exists()  # the embedded backend owns its store alone
