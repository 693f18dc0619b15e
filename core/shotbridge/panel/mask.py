"""Masks checked against the shot before anything is sent, and which frame of a shot a mask is drawn on.

A mask is 8-bit grey, white where the picture is to be filled (the `inpaint` operation and every provider
read it that way). One of another size but the shot's aspect (within 1%) is scaled to the shot with a note
for the artist; one of another aspect is refused naming both sizes; an all-black one is refused.

Qt-free: the pixel work (reading, greying, scaling) is done by an `Imaging` the view hands in (Qt's in
qt_mask.py), so this module stays importable inside any host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import opentimelineio as otio

from ..errors import ShotBridgeError

ASPECT_TOLERANCE = 0.01  # 1%: 1920x1080 vs 1280x720 match, 1920x1080 vs 2048x1080 do not
Size = tuple[int, int]


class MaskError(ShotBridgeError):
    """A mask that cannot be used for the shot; the text says why and what to do."""


@dataclass(frozen=True)
class ShotFrame:
    """The frame of a shot a mask is painted on: its media file and the frame's index in it (0 = first)."""

    clip: str
    path: Path
    index: int
    movie: bool
    size: Size | None = None  # when the host says it (Nuke's Read format): no decoding needed


@dataclass(frozen=True)
class MaskFit:
    scale: bool  # True: resize to the shot's size before sending
    note: str  # what the artist is told ("" when the mask fits as it is)


class Imaging(Protocol):
    """Pixel work the view provides (Qt: qt_mask.QtImaging)."""

    def image_size(self, path: Path) -> Size:
        """The size of an image file; raises MaskError when it cannot be read."""

    def frame_size(self, frame: ShotFrame) -> Size:
        """The size of the shot's frames."""

    def write_grey(self, path: Path, out: Path, size: Size | None) -> bool:
        """`path` as an 8-bit grey PNG at `out` (alpha when the image has a real one, else its luminance),
        resized to `size` when given; returns False when every pixel is black."""


def fmt(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


def fit(mask: Size, shot: Size) -> MaskFit:
    """How a mask of size `mask` is used on a shot of size `shot`; raises MaskError for another aspect."""
    if mask == shot:
        return MaskFit(False, "")
    if min(mask) <= 0 or min(shot) <= 0:
        raise MaskError(f"The mask is {fmt(mask)} and the shot {fmt(shot)}: one of them has no pixels.")
    mask_aspect, shot_aspect = mask[0] / mask[1], shot[0] / shot[1]
    if abs(mask_aspect - shot_aspect) / shot_aspect > ASPECT_TOLERANCE:
        raise MaskError(
            f"The mask is {fmt(mask)} (aspect {mask_aspect:.3f}) but the shot is {fmt(shot)} (aspect "
            f"{shot_aspect:.3f}): scaling would stretch it. Paint the mask on the shot's frame (Paint...), or "
            f"export it at {fmt(shot)} or another size of aspect {shot_aspect:.3f}.")
    return MaskFit(True, f"The mask is {fmt(mask)}; scaled to the shot's {fmt(shot)}.")


def prepare(path: Path, frames: ShotFrame | list[ShotFrame] | None, imaging: Imaging,
            folder: Path) -> tuple[Path, str]:
    """The mask to send for the shots of `frames` (an 8-bit grey PNG in `folder`) and a note for the artist.

    One mask serves every shot: it is checked against each (a shot of another aspect refuses it, naming the
    shot) and scaled to the first one's size. Raises MaskError when the file is missing, of another aspect,
    or all black. Without a shot (nothing selected) the mask is only greyed and checked for content."""
    path = Path(path)
    if not path.is_file():
        raise MaskError(f"No mask file at {path}: pick an existing image, or paint one (Paint...).")
    frames = [frames] if isinstance(frames, ShotFrame) else list(frames or [])
    mask_size = imaging.image_size(path)
    how, shot_size, unchecked = MaskFit(False, ""), None, []
    for frame in frames:
        try:
            size = frame.size or imaging.frame_size(frame)
        except MaskError:  # media the panel cannot read (offline, EXR without the host): the backend checks it
            unchecked.append(frame.clip)
            continue
        try:
            fitted = fit(mask_size, size)
        except MaskError as exc:
            raise MaskError(f"{frame.clip}: {exc}") from exc
        if shot_size is None:
            how, shot_size = fitted, size
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{path.stem}.grey.png"
    if not imaging.write_grey(path, out, shot_size if how.scale else None):
        raise MaskError(f"The mask {path.name} is all black, so there is nothing to fill: paint white where the "
                        "picture is to change.")
    note = how.note
    if unchecked:
        note += f"{' ' if note else ''}Not checked against {', '.join(unchecked)}: its media cannot be read here."
    return out, note


def shot_frame(clip: otio.schema.Clip, base_dir: Path | None = None) -> ShotFrame:
    """The first frame of the clip's shot in its media; raises MaskError when the clip has no local media."""
    from ..timeline_upload import local_path

    ref = clip.media_reference
    start = clip.source_range.start_time if clip.source_range is not None else None
    avail = ref.available_range if ref is not None else None
    if isinstance(ref, otio.schema.ImageSequenceReference):
        rate = ref.rate or (start.rate if start is not None else 24.0)
        number = (round(start.rescaled_to(rate).value) if start is not None
                  else ref.start_frame)
        return ShotFrame(clip.name, local_path(ref.target_url_for_image_number(
            max(0, number - ref.start_frame)), base_dir), 0, False, _host_size(clip))
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        path = local_path(ref.target_url, base_dir)
        index = 0
        if start is not None:
            offset = start - avail.start_time if avail is not None else start
            index = max(0, round(offset.to_frames()))
        movie = path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".dpx"}
        return ShotFrame(clip.name, path, index, movie, _host_size(clip))
    raise MaskError(f"The shot {clip.name} has no media file to paint on: relink it in the host, or pick a mask "
                    "file instead.")


def _host_size(clip: otio.schema.Clip) -> Size | None:
    """The frame size the host recorded for the clip (Nuke: the Read's format), if any."""
    fmt = dict(clip.metadata.get("nuke", {})).get("format") or {}
    try:
        size = int(fmt["width"]), int(fmt["height"])
    except (KeyError, TypeError, ValueError):
        return None
    return size if min(size) > 0 else None
