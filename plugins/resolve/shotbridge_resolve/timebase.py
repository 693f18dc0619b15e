"""Frame rates, timecodes and product versions as Resolve's API reports them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import opentimelineio as otio

if TYPE_CHECKING:
    from fusionscript import Resolve

# Resolve names NTSC rates by their rounded value; OTIO wants the exact fraction.
NTSC = {"23.976": 24000 / 1001, "29.97": 30000 / 1001, "47.952": 48000 / 1001, "59.94": 60000 / 1001,
        "119.88": 120000 / 1001}
OTIO_EXPORT_SINCE = (18, 5)  # Timeline.Export(..., resolve.EXPORT_OTIO, ...) first shipped in 18.5


class TimebaseError(ValueError):
    """A rate or timecode Resolve returned that ShotBridge cannot read; the message names it."""


def parse_rate(text: object) -> float:
    """`timelineFrameRate` ("24", "23.976", "29.97 DF", "25.000") as frames per second (exact for NTSC)."""
    value = re.sub(r"\s*N?DF$", "", str(text or "").strip().upper()).strip()
    if not value:
        raise TimebaseError("Resolve reported no timeline frame rate (timelineFrameRate is empty); "
                            "check Project Settings > Master Settings.")
    for name, exact in NTSC.items():
        if value == name or (re.fullmatch(r"\d+(\.\d+)?", value) and abs(float(value) - exact) < 0.005):
            return exact
    try:
        rate = float(value)
    except ValueError:
        raise TimebaseError(f"Resolve reported the frame rate {text!r}, which is not a number.") from None
    if rate <= 0:
        raise TimebaseError(f"Resolve reported the frame rate {text!r}; a rate must be above zero.")
    return rate


def timecode_frame(timecode: str, rate: float) -> int:
    """A timecode as Resolve writes it (";" before the frames for drop frame) as an absolute frame number."""
    try:
        return round(otio.opentime.from_timecode(str(timecode).strip(), rate).value)
    except (ValueError, TypeError) as exc:
        raise TimebaseError(f"Resolve reported the playhead at {timecode!r}, which is not a timecode at "
                            f"{rate:.3f} fps: {exc}") from exc


def version(resolve: Resolve) -> tuple[int, int]:
    """(major, minor): from GetVersion() ([major, minor, patch, build, suffix]), else GetVersionString()."""
    fields = resolve.GetVersion()
    try:
        if isinstance(fields, dict):  # some builds hand Lua tables over as {1: major, 2: minor, ...}
            fields = [fields[k] for k in sorted(fields)]
        return int(fields[0]), int(fields[1])
    except (TypeError, ValueError, IndexError, KeyError):
        pass
    text = str(resolve.GetVersionString() or "")
    m = re.match(r"\s*(\d+)\.(\d+)", text)
    if not m:
        raise TimebaseError(f"Resolve reported its version as {fields!r} / {text!r}; cannot tell which it is.")
    return int(m.group(1)), int(m.group(2))


def exports_otio(resolve: Resolve) -> bool:
    return version(resolve) >= OTIO_EXPORT_SINCE
