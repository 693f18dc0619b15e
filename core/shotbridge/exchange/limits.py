"""What each format cannot hold, by name, so a diff across formats says it once instead of once per clip.

Each limit names one aspect of a cut that the format (or OTIO's adapter for it) does not carry through a
write and a read. A diff involving a file of that format leaves the aspect out of its comparison and lists
the limit's name in its notes; `io.write` warns with the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

# Aspects the diff knows how to leave out.
CDL = "cdl"
MARKERS = "markers"
MARKER_COLOUR = "marker_colour"
MARKER_CASE = "marker_case"
SPEED = "speed"
TRACK_NAMES = "track_names"
VIDEO_TRACKS = "video_tracks"  # only the first video track
AUDIO = "audio"
NESTED = "nested"  # nested sequences (compound clips, collapsed tracks)


@dataclass(frozen=True)
class Limit:
    aspect: str
    name: str


LIMITS: dict[str, tuple[Limit, ...]] = {
    "cmx_3600": (
        Limit(VIDEO_TRACKS, "EDL keeps only the first video track"),
        Limit(AUDIO, "EDL (OTIO's CMX writer) keeps no audio tracks"),
        Limit(NESTED, "EDL has no nested sequences (compound clips): their clips are cut in, or dropped"),
        Limit(MARKER_CASE, "EDL upper-cases marker names"),
        Limit(TRACK_NAMES, "EDL has no track names"),
    ),
    "fcp_xml": (
        Limit(CDL, "FCP7 XML drops CDLs"),
        Limit(MARKER_COLOUR, "FCP7 XML drops marker colours (read back as RED)"),
        Limit(SPEED, "FCP7 XML (OTIO's writer) drops speed changes"),
        Limit(TRACK_NAMES, "FCP7 XML drops track names"),
    ),
    "fcpx_xml": (
        Limit(CDL, "FCPX XML drops CDLs"),
        Limit(MARKER_COLOUR, "FCPX XML drops marker colours (read back as PURPLE)"),
        Limit(SPEED, "FCPX XML (OTIO's writer) drops speed changes"),
        Limit(TRACK_NAMES, "FCPX XML has lanes, not named tracks"),
    ),
    "AAF": (
        Limit(CDL, "AAF drops CDLs"),
        Limit(MARKERS, "AAF (OTIO's writer) drops clip markers"),
        Limit(SPEED, "AAF (OTIO's writer) drops speed changes"),
    ),
    "ale": (
        Limit(MARKERS, "ALE holds a bin of clips: no markers"),
        Limit(SPEED, "ALE holds a bin of clips: no speed changes"),
    ),
}


def limits_of(*formats: str | None) -> list[Limit]:
    """The limits of every format given, each once, in a stable order."""
    seen: dict[str, Limit] = {}
    for fmt in formats:
        for limit in LIMITS.get(fmt or "", ()):
            seen.setdefault(limit.name, limit)
    return list(seen.values())
