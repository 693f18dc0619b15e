"""otio-fcpx-xml-adapter 1.0, corrected at its edges for the duration of one read or write (`patched()`):

- **True rates**: 23.976, 29.97 (drop and non-drop) and 59.94 instead of 23, 29 and 59. The adapter turns a
  format's `frameDuration="1001/24000s"` into `int(24000 / 1001)` = 23 fps and counts frames with `int()`, so
  float error drops a frame now and then; its writer finds no `frameDuration` for 23.976 and writes an empty
  one. Exactly those time helpers are wrapped with exact rational arithmetic (`fractions.Fraction`).
- **Markers where they are**: the reader gives a clip every marker below it in the XML, those of the clips
  connected to it included (they get them too). The wrapper keeps on each clip the markers it owns.

The rest of the adapter is used as it ships.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import opentimelineio as otio

_lock = threading.RLock()


def seconds(text: str | None) -> Fraction:
    """An FCPX time ("1001/24000s", "3600s", "0s") as exact seconds."""
    if not text:
        return Fraction(0)
    text = text.strip().removesuffix("s")
    num, _, den = text.partition("/")
    return Fraction(num) / Fraction(den or 1)


def exact_rate(fps: float) -> Fraction:
    """23.976023976... -> 24000/1001; whole rates stay whole."""
    return Fraction(fps).limit_denominator(10_000)


def to_rational_time(rational_number: str | None, fps: float) -> otio.opentime.RationalTime:
    rate = exact_rate(fps)
    return otio.opentime.RationalTime(round(seconds(rational_number) * rate), float(rate))


def _format_rate(adapter, format_id: str) -> float:
    element = adapter._format_by_id(format_id)
    return float(1 / seconds(element.get("frameDuration")))


def _number_of_frames(adapter, time_value: str | None, format_id: str) -> int:
    if time_value in (None, "0s"):
        return 0
    return round(seconds(time_value) * exact_rate(_format_rate(adapter, format_id)))


def _frame_duration(framerate: float) -> str:
    duration = 1 / exact_rate(framerate)
    return f"{duration.numerator}/{duration.denominator}s"


CLIP_ELEMENTS = ("asset-clip", "clip", "ref-clip", "mc-clip", "sync-clip", "title", "audition")


def _owner(parents: dict, marker):
    """The clip element a marker belongs to: its nearest clip ancestor."""
    node = parents.get(marker)
    while node is not None and node.tag not in CLIP_ELEMENTS:
        node = parents.get(node)
    return node


@contextmanager
def patched() -> Iterator[None]:
    """The adapter's time helpers replaced by exact ones while the block runs (one read or write at a time)."""
    # The module object OTIO's plugin system runs (it may load the file under its own name).
    fcpx_xml = otio.adapters.from_name("fcpx_xml").module()
    reader, writer = fcpx_xml.FcpxXml, fcpx_xml.FcpxOtio
    names = {reader: ("_format_frame_rate", "_number_of_frames", "_build_composable"),
             writer: ("_framerate_to_frame_duration", "_frame_rate_from_element")}
    originals = {(cls, n): cls.__dict__[n] for cls, ns in names.items() for n in ns}  # raw, staticmethod kept
    module_helper = fcpx_xml.to_rational_time
    frame_rate_from_element = writer.__dict__["_frame_rate_from_element"]

    def writer_rate(self, element, default_format_id):
        # The adapter finds the element's format and returns int(rate); truncation keeps NTSC and whole rates
        # apart (23 vs 24, 29 vs 30, 59 vs 60), so the format it meant is the one whose rate truncates alike.
        int_rate = frame_rate_from_element(self, element, default_format_id)
        formats = [f for f in self.resource_element.findall("./format") if f.get("frameDuration")]
        for f in formats:
            rate = 1 / seconds(f.get("frameDuration"))
            if int(rate) == int_rate:
                return float(rate)
        return int_rate

    build_composable = reader.__dict__["_build_composable"]

    def build_own_markers(self, element, default_format):
        composable = build_composable(self, element, default_format)
        timing = self._timing_clip(element)
        # The adapter appended the markers of `timing.findall(".//marker")`, in that order.
        owned = [_owner(self.child_parent_map, m) is timing for m in timing.findall(".//marker")]
        if not all(owned) and len(owned) == len(composable.markers):
            kept = [m for m, own in zip(list(composable.markers), owned, strict=True) if own]
            composable.markers.clear()
            composable.markers.extend(kept)
        return composable

    with _lock:
        reader._build_composable = build_own_markers
        fcpx_xml.to_rational_time = to_rational_time
        reader._format_frame_rate = _format_rate
        reader._number_of_frames = _number_of_frames
        writer._framerate_to_frame_duration = staticmethod(_frame_duration)
        writer._frame_rate_from_element = writer_rate
        try:
            yield
        finally:
            fcpx_xml.to_rational_time = module_helper
            for (cls, name), value in originals.items():
                setattr(cls, name, value)
