"""Reading frames from movies and image sequences, and choosing which frames to look at.

Frame numbers are the media's own: 0-based frame indexes in a movie file, file numbers in an image
sequence. Ranges are half-open: `start` is read, `end` is not (as in detect_shots' shots).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import MediaError

# Forward gaps up to this many frames are skipped with grab() (demux + decode, no colour conversion);
# longer gaps and backward moves seek, which costs about one GOP of decoding.
MAX_GRAB_GAP = 48

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr", ".dpx", ".webp"}


def load_rgb(path: str | Path, label: str | None = None) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB, honouring EXIF orientation (phone photos). Errors name the image by
    `label` when given (a stored asset's path is the server's business, not the user's)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (OSError, ValueError) as exc:
        why = str(exc).replace(str(path), label or str(path))
        raise MediaError(f"Cannot read image '{label or path}': {why}. Use a PNG, JPEG or TIFF file.") from exc


def sample_frames(start: int, end: int, stride: int, include_last: bool = True) -> list[int]:
    """start, start+stride, ... below end, plus end-1 (the shot's last frame): sorted, unique."""
    if stride < 1:
        raise MediaError(f"stride must be 1 or more frames, got {stride}.")
    if end <= start:
        return []
    frames = list(range(start, end, stride))
    if include_last and frames[-1] != end - 1:
        frames.append(end - 1)
    return frames


class FrameSource(Protocol):
    """Random access to the frames of one piece of media (cheapest when read in increasing order)."""

    first: int
    last: int  # inclusive
    fps: float
    size: tuple[int, int]  # (width, height)

    def read(self, frame: int) -> np.ndarray: ...

    def close(self) -> None: ...


class MovieSource:
    """A movie file through cv2.VideoCapture, reading forward with grab() and seeking only when needed."""

    def __init__(self, path: str | Path):
        import cv2

        self._cv2 = cv2
        self.path = str(path)
        if not Path(self.path).is_file():
            raise MediaError(f"Movie '{self.path}' does not exist: check the path or upload it again.")
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise MediaError(
                f"Cannot open '{self.path}' as a movie: use a file FFmpeg can decode (mp4, mov)."
            )
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if count <= 0:
            raise MediaError(f"'{self.path}' reports no frames: it may be truncated or not a movie.")
        self.first, self.last = 0, count - 1
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 24.0
        self.size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._next = 0  # the frame the next grab() decodes
        self.seeks = 0
        self._stamp: tuple[int, float] | None = None  # (frame, ms) of the last frame read
        self._step_ms: float | None = None  # the first interval seen between consecutive frames

    def read(self, frame: int) -> np.ndarray:
        return self._cv2.cvtColor(self.read_bgr(frame), self._cv2.COLOR_BGR2RGB)

    def read_bgr(self, frame: int) -> np.ndarray:
        """The frame as decoded (BGR): for readers whose work does not depend on channel order (the face
        follower converts only its 150x150 chips), saving a full-frame conversion (4 ms at 4K)."""
        cv2 = self._cv2
        if not self.first <= frame <= self.last:
            raise MediaError(f"Frame {frame} is outside '{self.path}' (frames {self.first}-{self.last}).")
        gap = frame - self._next
        if gap < 0 or gap > MAX_GRAB_GAP:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
            self._next = frame
            self.seeks += 1
        while self._next < frame:
            if not self._cap.grab():
                raise MediaError(f"'{self.path}' ended at frame {self._next}, before frame {frame}.")
            self._next += 1
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise MediaError(f"Cannot decode frame {frame} of '{self.path}': the file may be damaged.")
        self._next = frame + 1
        self._check_rate(frame, float(self._cap.get(cv2.CAP_PROP_POS_MSEC)))
        return bgr

    def _check_rate(self, frame: int, ms: float) -> None:
        """Refuse a variable frame rate: frame numbers would not be the editor's, so no range could be trusted.
        Consecutive frames' timestamps must keep the first interval (within a fifth: ms rounding is ~2 %)."""
        last, self._stamp = self._stamp, (frame, ms)
        if last is None or last[0] != frame - 1:
            return
        step = ms - last[1]
        if self._step_ms is None:
            self._step_ms = step
        elif abs(step - self._step_ms) > 0.2 * max(self._step_ms, 1e-3):
            raise MediaError(
                f"'{self.path}' has a variable frame rate: frame {frame} comes {step:.1f} ms after the previous "
                f"one, where frames were {self._step_ms:.1f} ms apart. Conform it to a constant frame rate "
                "first (export a constant-rate movie from the editor, or e.g. `ffmpeg -i IN -fps_mode cfr -r 24 "
                "OUT.mov`), then check the conformed movie."
            )

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> MovieSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sequence_regex(pattern: str) -> tuple[str, re.Pattern[str], int]:
    """A printf-style path, a regex over file names and the padding, for '####' or '%04d' patterns."""
    name = Path(pattern).name
    m = _HASHES.search(name)
    if m:
        pad = len(m.group(0))
        printf = name[: m.start()] + f"%0{pad}d" + name[m.end() :]
    else:
        m = _PRINTF.search(name)
        if not m:
            raise MediaError(
                f"'{pattern}' is not an image-sequence pattern: write the frame number as #### or %04d, "
                "e.g. shot010.####.exr."
            )
        pad = int(m.group(2) or 1)
        printf = name
    pre, post = printf.split(f"%0{pad}d" if m.re is _HASHES else m.group(0), 1)
    regex = re.compile(re.escape(pre) + r"(-?\d+)" + re.escape(post) + r"$")
    return str(Path(pattern).with_name(printf)), regex, pad


class SequenceSource:
    """An image sequence given as a pattern (shot.####.png, shot.%04d.png) with optional first/last."""

    def __init__(self, pattern: str | Path, first: int | None = None, last: int | None = None):
        self.pattern = str(pattern)
        self._printf, regex, _ = sequence_regex(self.pattern)
        folder = Path(self.pattern).parent
        if first is None or last is None:
            found = sorted(
                int(m.group(1))
                for p in (folder.iterdir() if folder.is_dir() else [])
                if (m := regex.match(p.name))
            )
            if not found:
                raise MediaError(
                    f"No frames match '{self.pattern}' in '{folder}': check the folder and pattern."
                )
            first = found[0] if first is None else first
            last = found[-1] if last is None else last
        if last < first:
            raise MediaError(f"Sequence '{self.pattern}': last frame {last} is before first frame {first}.")
        self.first, self.last = first, last
        self.fps = 24.0
        h, w = self.read(first).shape[:2]
        self.size = (w, h)

    def path(self, frame: int) -> Path:
        return Path(self._printf % frame)

    def read(self, frame: int) -> np.ndarray:
        if not self.first <= frame <= self.last:
            raise MediaError(f"Frame {frame} is outside '{self.pattern}' ({self.first}-{self.last}).")
        p = self.path(frame)
        if not p.is_file():
            raise MediaError(f"Frame {frame} of '{self.pattern}' is missing ({p}): the sequence has a hole.")
        return load_rgb(p)

    def close(self) -> None:
        pass

    def __enter__(self) -> SequenceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_sequence_pattern(media: str | Path) -> bool:
    name = Path(media).name
    return bool(_HASHES.search(name) or _PRINTF.search(name))


def open_media(
    media: str | Path, first: int | None = None, last: int | None = None
) -> MovieSource | SequenceSource:
    """A movie file, an image-sequence pattern, or a single still image (a one-frame sequence)."""
    if is_sequence_pattern(media):
        return SequenceSource(media, first, last)
    if Path(media).suffix.lower() in _IMAGE_EXT or is_still_image(media):
        return StillSource(media)
    return MovieSource(media)


def is_still_image(path: str | Path) -> bool:
    """Whether the file's bytes are a still image (stored assets are named by their hash, without an
    extension: what they hold decides how they are read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.format not in (None, "GIF") and getattr(img, "n_frames", 1) == 1
    except (UnidentifiedImageError, OSError, ValueError):
        return False


class StillSource(SequenceSource):
    """One image as a source whose only file frame is 0; a clip that holds the still reads it at any of its
    frames (a still on a timeline lasts as long as its clip)."""

    def __init__(self, path: str | Path):
        self.pattern = str(path)
        self.first = self.last = 0
        self.fps = 24.0
        self._img = load_rgb(path)
        self.size = (self._img.shape[1], self._img.shape[0])

    def read(self, frame: int) -> np.ndarray:
        if frame < 0:
            raise MediaError(f"'{self.pattern}' is a single image: frame {frame} is before it.")
        return self._img


def read_frames(source: FrameSource, frames: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """The given frames in increasing order (the order a movie decodes cheapest)."""
    for f in sorted(set(frames)):
        yield f, source.read(f)


def stream(
    source: FrameSource, start: int, end: int, prefetch: int = 4, bgr: bool = False
) -> Iterator[tuple[int, np.ndarray]]:
    """Every frame of start..end-1 in order, decoded on a second thread while the caller works on the
    previous ones (decoding releases the GIL, so a movie decodes on the other core). `bgr`: frames as the
    source decodes them when it has `read_bgr` (movies), else RGB."""
    read = getattr(source, "read_bgr", source.read) if bgr else source.read
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()

    def worker() -> None:
        try:
            for f in range(start, end):
                if stop.is_set():
                    return
                q.put((f, read(f)))
            q.put(None)
        except BaseException as exc:  # handed to the caller, who raises it
            q.put(exc)

    t = threading.Thread(target=worker, name="shotbridge-decode", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():  # unblock a worker waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)
