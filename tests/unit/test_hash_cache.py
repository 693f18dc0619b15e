"""The client's hash cache: an unchanged file is read once; any change, or any doubt, means hashing again."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from shotbridge import hashing
from shotbridge.hashing import HashCache


@pytest.fixture
def counted(monkeypatch):
    reads = []
    real = hashing.sha256_file

    def sha256_file(path):
        reads.append(path)
        return real(path)

    monkeypatch.setattr(hashing, "sha256_file", sha256_file)
    return reads


def _aged(path, data: bytes, age: float = 60.0):
    path.write_bytes(data)
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_an_unchanged_file_is_read_once(tmp_path, counted):
    plate = _aged(tmp_path / "plate.exr", b"pixels" * 1000)
    cache = HashCache(tmp_path / "cache" / "hashes.sqlite3")
    assert cache.sha256(plate) == cache.sha256(plate) == hashlib.sha256(plate.read_bytes()).hexdigest()
    assert len(counted) == 1
    assert HashCache(tmp_path / "cache" / "hashes.sqlite3").sha256(plate)  # a new client shares it
    assert len(counted) == 1


def test_same_size_new_bytes_with_the_old_mtime_put_back_is_hashed_again(tmp_path, counted):
    plate = _aged(tmp_path / "plate.exr", b"A" * 4096)
    cache = HashCache(tmp_path / "hashes.sqlite3")
    first = cache.sha256(plate)
    st = plate.stat()
    time.sleep(0.01)  # let the ctime tick
    plate.write_bytes(b"B" * 4096)
    os.utime(plate, ns=(st.st_atime_ns, st.st_mtime_ns))  # as a careless copy tool might
    assert cache.sha256(plate) == hashlib.sha256(b"B" * 4096).hexdigest() != first
    assert len(counted) == 2


def test_a_file_written_moments_ago_is_not_trusted(tmp_path, counted):
    fresh = tmp_path / "render.exr"
    fresh.write_bytes(b"frame")  # mtime now: a second write in the same tick would not move it
    cache = HashCache(tmp_path / "hashes.sqlite3")
    cache.sha256(fresh)
    cache.sha256(fresh)
    assert len(counted) == 2


def test_a_file_changing_while_hashed_is_not_remembered(tmp_path, monkeypatch):
    plate = _aged(tmp_path / "plate.exr", b"A" * 4096)
    real = hashing.sha256_file
    reads = []

    def grows_while_read(path):
        reads.append(path)
        digest = real(path)
        if len(reads) == 1:
            with open(plate, "ab") as fh:  # a render still writing
                fh.write(b"more")
        return digest

    monkeypatch.setattr(hashing, "sha256_file", grows_while_read)
    cache = HashCache(tmp_path / "hashes.sqlite3")
    cache.sha256(plate)
    old = time.time() - 60
    os.utime(plate, (old, old))
    assert cache.sha256(plate) == hashlib.sha256(b"A" * 4096 + b"more").hexdigest()
    assert len(reads) == 2


def test_a_broken_cache_only_costs_time(tmp_path, counted):
    plate = _aged(tmp_path / "plate.exr", b"pixels")
    db = tmp_path / "hashes.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    cache = HashCache(db)
    assert cache.sha256(plate) == cache.sha256(plate) == hashlib.sha256(b"pixels").hexdigest()
    assert len(counted) == 2
