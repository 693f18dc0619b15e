"""Content hashes: assets are named by the sha256 of their bytes, everywhere."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # 1 MiB: large enough that per-chunk overhead vanishes, small enough to keep memory flat
RACY_NS = 2_000_000_000  # a file changed this close to its hashing may change again without its mtime moving


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


def sha256_json(value: Any) -> str:
    """The digest of a JSON value, independent of key order (request digests, idempotency, stable keys)."""
    return sha256_bytes(json.dumps(value, sort_keys=True).encode())


class HashCache:
    """The sha256 of local files, remembered by path, size, mtime, ctime and inode (as git's index does), so
    an unchanged plate is read once rather than at every submit. Any write to a file moves its ctime, which
    no tool can set back; a file changed within 2 s of being hashed is hashed again. The cache only ever
    saves time: if its database cannot be used, files are simply hashed."""

    def __init__(self, db: Path):
        self.db = Path(db)

    def sha256(self, path: str | os.PathLike) -> str:
        path = Path(path).resolve()
        before = os.stat(path)
        key = _stat_key(before)
        known = self._lookup(str(path))
        if known is not None and known[0] == key and before.st_mtime_ns + RACY_NS < known[2]:
            return known[1]
        started = time.time_ns()
        digest = sha256_file(path)
        if _stat_key(os.stat(path)) == key:  # not being written while we read it
            self._store(str(path), key, digest, started)
        return digest

    def _connect(self):
        import sqlite3  # lazily: some host applications' Pythons are built without it

        self.db.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db, timeout=2.0)
        con.execute("CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, stat TEXT NOT NULL, "
                    "sha256 TEXT NOT NULL, hashed_at INTEGER NOT NULL)")
        return con

    def _lookup(self, path: str) -> tuple[str, str, int] | None:
        try:
            con = self._connect()
            try:
                return con.execute("SELECT stat, sha256, hashed_at FROM hashes WHERE path = ?", (path,)).fetchone()
            finally:
                con.close()
        except Exception as exc:  # a broken cache must never stop an upload
            log.debug("hash cache %s unreadable (%s); hashing", self.db, exc)
            return None

    def _store(self, path: str, key: str, digest: str, hashed_at: int) -> None:
        try:
            con = self._connect()
            try:
                with con:
                    con.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", (path, key, digest, hashed_at))
            finally:
                con.close()
        except Exception as exc:
            log.debug("hash cache %s not written (%s)", self.db, exc)


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"
