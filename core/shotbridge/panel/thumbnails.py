"""Small pictures of a clip's media at a frame, made off the main thread and cached on disk.

Decoding goes through panel/frames.py (PyAV for movies and stills alike, EXR included; else OpenCV);
the picture is written as a PNG under `<cache>/thumbnails/` keyed by path, size, mtime and frame, so a
second request costs a file read. A file that cannot be decoded gives a `Thumbnail` with no picture and the
reason, which a view draws as a placeholder - never a blank cell.

A view may pass `load` (e.g. `QImage(path)`: safe off the GUI thread, where QPixmap is not); it runs on the
worker and its result travels with the thumbnail, so the GUI thread never decodes anything.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..watcher import Dispatcher, call_now
from .frames import FrameError, read_frame

log = logging.getLogger(__name__)
WIDTH = 160


@dataclass(frozen=True)
class Thumbnail:
    key: str
    media: str
    frame: int
    path: Path | None = None  # the cached PNG; None for a placeholder
    reason: str = ""  # why there is no picture ("" when there is one)
    image: Any = None  # what the view's `load` made of `path`, on the worker

    @property
    def ok(self) -> bool:
        return self.path is not None


class ThumbnailError(Exception):
    """A file that gives no picture; the message is the reason an artist reads on the placeholder."""


class Thumbnailer:
    """`request(media, frame, deliver)`: `deliver(Thumbnail)` runs later through `dispatch`.

    A bounded pool (1-2 workers); one decode per file and frame at a time (a second request for it waits for
    the first's result); `close()` drops pending work and every delivery still to come."""

    def __init__(self, cache_dir: Path, dispatch: Dispatcher = call_now, width: int = WIDTH, workers: int = 1,
                 load: Callable[[Path], Any] | None = None):
        self.folder = Path(cache_dir) / "thumbnails"
        self.dispatch = dispatch
        self.width = width
        self.load = load
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(workers, 2)), thread_name_prefix="shotbridge-thumbs")
        self._pending: dict[tuple[str, int], list[Callable[[Thumbnail], None]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def key(self, media: str | Path, frame: int) -> str:
        path = Path(media)
        try:
            st = path.stat()
            stamp = f"{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            stamp = "missing"
        return hashlib.sha256(f"{path.resolve()}|{self.width}|{stamp}|{frame}".encode()).hexdigest()[:32]

    def request(self, media: str | Path | None, frame: int, deliver: Callable[[Thumbnail], None],
                reason: str = "") -> None:
        """`media` None (a clip with no file) gives a placeholder saying `reason`. Cheap on the caller's thread:
        the file is looked at (stat, cache key) on the worker."""
        if self._closed:
            return
        if media is None:
            self.dispatch(deliver, Thumbnail("", "", frame, reason=reason or "no media file"))
            return
        ask = (str(media), frame)
        with self._lock:
            waiting = self._pending.get(ask)
            if waiting is not None:
                waiting.append(deliver)
                return
            self._pending[ask] = [deliver]
        try:
            self._pool.submit(self._work, ask)
        except RuntimeError:  # closed between the check and the submit
            self._pending.pop(ask, None)

    def _work(self, ask: tuple[str, int]) -> None:
        if self._closed:
            return
        media, frame = ask
        key = self.key(media, frame)
        target = self.folder / f"{key}.png"
        try:
            if not target.is_file():
                make_thumbnail(Path(media), frame, self.width, target)
            image = self.load(target) if self.load is not None else None
            thumb = Thumbnail(key, media, frame, target, image=image)
        except ThumbnailError as exc:
            thumb = Thumbnail(key, media, frame, reason=str(exc))
        except Exception as exc:  # a thumbnail must never take the panel down
            log.exception("thumbnail of %s failed", media)
            thumb = Thumbnail(key, media, frame, reason=f"{type(exc).__name__}: {exc}")
        with self._lock:
            callbacks = self._pending.pop(ask, [])
        if not self._closed:
            for deliver in callbacks:
                self.dispatch(deliver, thumb)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._pending.clear()


def make_thumbnail(media: Path, frame: int, width: int, target: Path) -> Path:
    """Decode `frame` (0-based in the file; ignored for a still) of `media`, scale it to `width` and write
    a PNG at `target` (atomically). Raises ThumbnailError with the reason when there is no picture."""
    try:
        picture = read_frame(media, frame, width)
    except FrameError as exc:
        raise ThumbnailError(str(exc)) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(f".{threading.get_ident()}.part")
    part.write_bytes(png_bytes(picture.width, picture.height, picture.rgb))
    part.replace(target)
    return target


def png_bytes(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG (no Pillow, no numpy: the core stays light)."""
    row = width * 3
    raw = b"".join(b"\x00" + rgb[y * row:(y + 1) * row] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
