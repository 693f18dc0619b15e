"""Content-addressed asset store on disk: files named by their sha256, written atomically.

A file appears under its final name only once its bytes are complete and verified; anything interrupted
(a dropped connection, a full disk, a killed process) leaves at most a temporary file, removed at once or at
the next start.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from shotbridge.hashing import CHUNK


class StoreError(Exception):
    """A problem storing bytes; `status` is the HTTP status that describes it."""

    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class AssetStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remove(self, sha256: str) -> None:
        """Delete a stored file no project holds any more (the caller has checked that)."""
        try:
            self.path(sha256).unlink(missing_ok=True)
        except OSError as exc:
            raise _disk_error(exc) from exc

    def clean_partial(self, older_than: float = 0.0) -> int:
        """Remove temporary files left by an interrupted write (run at start-up). On storage shared with other
        processes (studio mode) only those untouched for `older_than` seconds: the rest may be theirs, in flight."""
        removed = 0
        cutoff = time.time() - older_than
        for leftover in self.tmp.iterdir():
            try:
                if older_than and leftover.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def _temp(self) -> Path:
        return self.tmp / f"{uuid.uuid4().hex}.part"

    def check_space(self, size: int) -> None:
        free = shutil.disk_usage(self.root).free
        if size > free:
            raise StoreError(
                507, "Insufficient storage",
                f"The asset store at {self.root} has {free} bytes free; this upload needs {size}. "
                "Free some disk space and upload again.",
            )

    async def receive(self, chunks: AsyncIterator[bytes], expected_sha: str, max_bytes: int,
                      setting: str = "SHOTBRIDGE_MAX_ASSET_BYTES") -> int:
        """Stream an upload to disk, verifying its hash and size; returns the size.

        Hashing and writing stay inline on the event loop: handing blocks to a worker thread measured
        slower (GIL hand-offs), and each chunk costs well under a millisecond.
        """
        tmp = self._temp()
        h = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb", buffering=CHUNK) as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise StoreError(
                            413, "Asset too large",
                            f"The upload exceeds the configured limit of {max_bytes} bytes "
                            f"({setting}). Split it or raise the limit.",
                        )
                    h.update(chunk)
                    fh.write(chunk)
            actual = h.hexdigest()
            if actual != expected_sha:
                raise StoreError(
                    422, "Hash mismatch",
                    f"The uploaded bytes hash to {actual}, not {expected_sha} as the URL says. "
                    "The file may have changed during upload; upload it again.",
                )
            self._commit(tmp, expected_sha)
            return size
        except OSError as exc:
            raise _disk_error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def ingest(self, path: Path) -> tuple[str, int]:
        """Copy a file the backend produced into the store; returns (sha256, size)."""
        tmp = self._temp()
        h = hashlib.sha256()
        size = 0
        try:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            sha = h.hexdigest()
            self._commit(tmp, sha)
            return sha, size
        except OSError as exc:
            raise _disk_error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, tmp: Path, sha: str) -> None:
        final = self.path(sha)
        if final.exists():
            return  # same name, same bytes: nothing to do
        final.parent.mkdir(parents=True, exist_ok=True)
        # The rename is what makes the write atomic against a crash of this process; no fsync, so a
        # power cut may still lose the newest files (as it would the SQLite rows that name them).
        os.replace(tmp, final)


def _disk_error(exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            507, "Insufficient storage",
            "The asset store ran out of disk space while writing; nothing was kept. "
            "Free some disk space and upload again.",
        )
    return StoreError(500, "Storage error", f"Could not write the asset: {exc.strerror or exc}")
