"""A cut read for comparison: each shot of each track with what a diff compares, read once.

Tracks are labelled by kind and index among the tracks that hold shots (V1, V2, A1...), whatever the format
calls them; times are whole frames at each clip's own rate; black filler is a gap; a nested sequence is one
shot; beside a dissolve, a clip also keeps the frames it shows (formats place dissolves differently).
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass, field
from urllib.parse import unquote

import opentimelineio as otio

from . import anydict

# What a track holds that the diff follows: clips, and nested sequences (compound clips, collapsed tracks) as
# one shot each, so removing or moving one is seen.
SHOTS = (otio.schema.Clip, otio.schema.Stack)


@dataclass(slots=True)
class Entry:
    clip: otio.schema.Clip
    audio: bool
    track: str
    track_name: str
    position: int
    sb_id: str | None
    media: str | None  # normalized file name of the active media
    reel: str | None
    name: str
    rate: float
    src_in: int
    src_out: int
    rec_in: int
    rec_out: int
    speed: float
    media_start: int | None = None  # the active media's first frame, when the file says
    # Where the file puts the source off this rate's frame grid (media at 23.976 in a 25 fps sequence), its
    # in/out as given: another format rounds them its own way, so they match within a frame.
    src_exact: tuple[float, float] | None = None
    markers: int = 0  # how many; read only where there are some
    # Beside a dissolve: the source frames shown, handles under the dissolve included. Formats place a dissolve
    # differently (centred on the cut in OTIO and AAF, starting at it in an EDL) and move the cut with it.
    visible: tuple[int, int] | None = None
    keys: set[str] = field(default_factory=set)

    @property
    def source(self) -> str:
        return self.media or self.reel or self.name

    def key(self) -> str:
        return self.sb_id or f"{self.source}@{self.src_in}/{num(self.rate)}"


def num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def frames_at(t: otio.opentime.RationalTime, rate: float) -> int:
    """Whole frames at `rate`; the epsilon keeps a value one rounding below x.5 on the same side as x.5."""
    return math.floor(t.value * rate / t.rate + 0.5 + 1e-6) if t.rate != rate else math.floor(t.value + 0.5 + 1e-6)


def media_key(url: str | None) -> str | None:
    """A media URL as the file name every format keeps: 'file://localhost/D%3a/m/A.mov' -> 'a.mov'."""
    if not url:
        return None
    if "%" in url:
        url = unquote(url)
    name = posixpath.basename(url.replace("\\", "/").rstrip("/"))
    return name.casefold() or None


def _whole(value: float) -> int:
    """Whole frames; the epsilon keeps a value one rounding below x.5 on the same side as x.5."""
    return math.floor(value + 0.5 + 1e-6)


def _media(clip, rate: float) -> tuple[str | None, int | None]:
    """The active media's file name, and its first frame at `rate` when the file says."""
    ref = getattr(clip, "media_reference", None)  # a nested sequence (compound clip) has none
    if isinstance(ref, otio.schema.ExternalReference):
        name = media_key(ref.target_url)
    elif isinstance(ref, otio.schema.ImageSequenceReference):
        name = media_key(f"{ref.target_url_base}{ref.name_prefix}#{ref.name_suffix}")
    else:
        name = None
    available = ref.available_range if ref is not None else None
    return name, (frames_at(available.start_time, rate) if available is not None else None)


def timeline_rate(obj) -> float | None:
    start = getattr(obj, "global_start_time", None)
    if start is not None:
        return start.rate
    from .io import _first_clip  # io imports this module's callers; one walk, no cycle at import

    clip = _first_clip(obj)
    return clip.trimmed_range().duration.rate if clip is not None else None


def entries(obj) -> list[Entry]:
    from .shots import as_timeline

    timeline = as_timeline(obj)
    out: list[Entry] = []
    counters = {"V": 0, "A": 0}
    for track in anydict.listed(timeline.tracks):
        if not isinstance(track, otio.schema.Track):
            continue
        items = anydict.listed(track)
        if not any(isinstance(item, SHOTS) for item in items):
            continue  # formats drop empty tracks: V2 holding clips stays V2 only if empty tracks do not count
        audio = track.kind == otio.schema.TrackKind.Audio
        letter = "A" if audio else "V"
        counters[letter] += 1
        label = f"{letter}{counters[letter]}"
        ranges = track.range_of_all_children()
        track_name = track.name
        beside = _beside_dissolves(items)
        position = 0
        for item in items:
            if not isinstance(item, SHOTS) or _black(item):
                continue
            src = item.trimmed_range()
            rate = src.duration.rate
            rec = ranges[item]
            start, end = src.start_time, src.end_time_exclusive()  # each a C++ call: once
            raw_in = start.value if start.rate == rate else start.value * rate / start.rate
            raw_out = end.value if end.rate == rate else end.value * rate / end.rate
            src_in, src_out = _whole(raw_in), _whole(raw_out)
            off_grid = abs(raw_in - src_in) > 1e-6 or abs(raw_out - src_out) > 1e-6
            speed = 1.0
            if len(item.effects):
                for effect in anydict.listed(item.effects):
                    if isinstance(effect, otio.schema.LinearTimeWarp):
                        speed *= effect.time_scalar
            keys = anydict.keys(item)  # read once (see anydict)
            facts = anydict.get(item, "shotbridge", keys) if "shotbridge" in keys else None
            cmx = anydict.get(item, "cmx_3600", keys) if "cmx_3600" in keys else None
            ale = anydict.get(item, "ALE", keys) if "ALE" in keys else None
            reel = (cmx or {}).get("reel") if isinstance(cmx, dict) else None
            reel = reel or ((ale or {}).get("Tape") if isinstance(ale, dict) else None)
            sb_id = facts.get("id") if isinstance(facts, dict) else None
            media, media_start = _media(item, rate)
            out.append(Entry(
                clip=item, audio=audio, track=label, track_name=track_name, position=position,
                sb_id=str(sb_id) if sb_id else None, media=media, reel=reel or None, name=item.name,
                rate=rate, src_in=src_in, src_out=src_out,
                rec_in=frames_at(rec.start_time, rate), rec_out=frames_at(rec.end_time_exclusive(), rate),
                speed=speed, media_start=media_start, keys=keys,
                src_exact=(raw_in, raw_out) if off_grid else None, markers=len(item.markers),
                visible=_visible(item, rate) if id(item) in beside else None))
            position += 1
    return out


def _black(item) -> bool:
    """Black filler (an EDL's BL events read back as clips): a gap, not a shot."""
    ref = getattr(item, "media_reference", None)
    return isinstance(ref, otio.schema.GeneratorReference) and (ref.generator_kind or "").lower() == "black"


def _beside_dissolves(items: list) -> set[int]:
    out = set()
    for n, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            out.update(id(x) for x in items[max(0, n - 1):n + 2] if not isinstance(x, otio.schema.Transition))
    return out


def _visible(item, rate: float) -> tuple[int, int]:
    shown = item.visible_range()
    return frames_at(shown.start_time, rate), frames_at(shown.end_time_exclusive(), rate)
