"""One picture of a movie or still as 8-bit RGB: what the thumbnails, the review view and the mask painter show.

PyAV decodes (movies, and stills such as EXR that Qt cannot read); OpenCV where PyAV is not installed; a
file that gives no picture raises FrameError with the reason an artist reads. No Qt and no numpy, so the
thumbnailer can use it in any host; call it off the host's main thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MOVIES = {".mov", ".mp4", ".m4v", ".mkv", ".avi", ".mxf", ".webm"}
STILLS = {".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".dpx", ".bmp", ".tga"}
NO_DECODER = "no decoder installed"  # a host without PyAV or OpenCV (Blender) decodes itself


class FrameError(ValueError):
    """A file that gives no picture; the message is the reason."""


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    rgb: bytes  # rows of width * 3 bytes, no padding


def read_frame(path: Path, index: int = 0, width: int | None = None, containers: dict[Path, Any] | None = None
               ) -> Frame:
    """Frame `index` (0-based in the file; ignored for a still) of `path`, scaled to `width` when given.
    `containers` keeps movies open between calls (a review scrubbing one shot): the caller closes them."""
    path = Path(path)
    if not path.is_file():
        raise FrameError(f"file not found: {path.name}" if path.name else "no media file")
    if path.stat().st_size == 0:
        raise FrameError(f"empty file: {path.name}")
    try:
        import av  # noqa: F401
    except ImportError:
        return _read_cv2(path, index, width)
    return _read_av(path, index, width, containers)


def scaled(w: int, h: int, width: int) -> tuple[int, int]:
    height = max(2, round(h * width / max(w, 1)))
    return width, height + height % 2


def _read_av(path: Path, index: int, width: int | None, containers: dict[Path, Any] | None) -> Frame:
    import av

    container = containers.get(path) if containers is not None else None
    reused = container is not None
    if container is None:
        try:
            container = av.open(str(path))
        except av.error.InvalidDataError:
            raise FrameError(f"cannot read {path.name}: not a picture or movie, or truncated") from None
        except av.error.FFmpegError as exc:
            raise FrameError(f"cannot open {path.name}: {exc.strerror or exc}") from None
        if containers is not None:
            containers[path] = container
    try:
        return _decode(container, path, index, width, seek=index > 0 or reused)
    finally:
        if containers is None:
            container.close()


def _decode(container: Any, path: Path, index: int, width: int | None, seek: bool) -> Frame:
    import av

    if not container.streams.video:
        raise FrameError(f"no video stream in {path.name}")
    stream = container.streams.video[0]
    codec = stream.codec_context
    if codec is None or not codec.name:
        raise FrameError(f"unknown codec in {path.name}")
    rate = float(stream.average_rate or stream.guessed_rate or 24)
    target = index / rate
    picked = None
    try:
        if seek:  # to the key frame at or before the frame, then decode forward to it
            container.seek(int(target / stream.time_base) if stream.time_base else 0, stream=stream, backward=True)
        for decoded in container.decode(stream):
            picked = decoded
            if decoded.time is None or decoded.time >= target - 0.5 / rate:
                break
    except av.error.FFmpegError as exc:
        if picked is None:
            raise FrameError(f"cannot decode {path.name} ({codec.name}): {exc.strerror or exc}") from None
    if picked is None:
        raise FrameError(f"no picture in {path.name} (truncated or empty movie?)")
    w, h = scaled(picked.width, picked.height, width) if width else (picked.width, picked.height)
    rgb = picked.reformat(width=w, height=h, format="rgb24")
    plane = rgb.planes[0]
    data, stride = bytes(plane), plane.line_size
    if stride != w * 3:
        data = b"".join(data[y * stride:y * stride + w * 3] for y in range(h))
    return Frame(w, h, data)


def _read_cv2(path: Path, index: int, width: int | None) -> Frame:
    try:
        import cv2
    except ImportError:
        raise FrameError(f"{NO_DECODER} (install PyAV: pip install av)") from None
    if path.suffix.lower() in STILLS:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    else:
        capture = cv2.VideoCapture(str(path))
        try:
            if not capture.isOpened():
                raise FrameError(f"cannot open {path.name}")
            if index > 0:
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, image = capture.read()
            image = image if ok else None
        finally:
            capture.release()
    if image is None:
        raise FrameError(f"cannot decode frame {index} of {path.name}")
    h, w = image.shape[:2]
    if width:
        w, h = scaled(w, h, width)
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return Frame(w, h, cv2.cvtColor(image, cv2.COLOR_BGR2RGB).tobytes())
