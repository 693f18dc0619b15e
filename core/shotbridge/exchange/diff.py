"""What a recut changed, named so a conform tool can act on `kind` alone; and the AI takes it made stale.

The two cuts may come from different tools (an AAF against an EDL, FCP7 XML against FCPX), so nothing that
differs only in how a format stores a cut counts as a change:

- tracks are matched by kind and index (V1, V2, A1...), never by name (cut_entries.py);
- times are compared in whole frames at each clip's own rate, in time when the two files run at different
  rates (said once), and speeds within `SPEED_TOLERANCE`;
- clips are matched by identity: the ShotBridge id, then source and in point with the clip name or reel as
  tie-breaker, then name and in point, then overlapping source ranges, then the record slot (cut_matching.py);
- what either file's format cannot hold (limits.py) is left out and named once in the notes;
- Avid's extra media references (source clips, .PHYS MXF) are part of the clip's media, not AI takes.

The JSON shape (`TimelineDiff.to_json`) is documented in docs/exchange.md and versioned by `SCHEMA`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Literal

import opentimelineio as otio
from pydantic import BaseModel, Field

from . import anydict, limits
from .cut_entries import Entry, entries, frames_at, timeline_rate
from .cut_matching import match_shots, moved_shots, unrelated_cuts
from .takes import is_take

__all__ = ["SCHEMA", "Change", "ShotState", "StaleTake", "TimelineDiff", "diff_timelines", "timeline_rate"]

SCHEMA = 2
# A speed read back from a format that stores percentages or frame counts differs by far less than this;
# a real retime (even 99% -> 100%) differs by more.
SPEED_TOLERANCE = 1e-3
BASE_KINDS = ("added", "removed", "moved", "slipped", "replaced", "trimmed_head", "trimmed_tail", "retimed",
              "markers_changed", "cdl_changed", "take_changed")
KINDS = BASE_KINDS + tuple(f"audio_{k}" for k in BASE_KINDS)
Kind = Literal[KINDS]  # type: ignore[valid-type]


class ShotState(BaseModel):
    name: str
    track: str = Field(description="V1, V2... / A1, A2...: kind and index, whatever the format calls it")
    track_name: str = Field(description="The track's name in the file (formats drop or rename these)")
    position: int = Field(description="Index among the clips of its track, from 0")
    source: str = Field(description="Media file name, else reel, else clip name")
    rate: float = Field(description="The clip's own rate; every frame count below is at this rate")
    source_in: int
    source_out: int = Field(description="Exclusive")
    record_in: int = Field(description="Frames from the start of the track")
    record_out: int
    speed: float
    markers: list[str] = Field(default_factory=list, description="name@frame (colour), source frames")
    cdl: dict | None = None
    take: str | None = Field(default=None, description="The active AI take, None when the plate is active")


class Change(BaseModel):
    kind: Kind
    id: str
    name: str
    track: str
    frames: int | None = Field(default=None, description="trimmed_head/tail, slipped: new minus old, frames")
    old: ShotState | None = None
    new: ShotState | None = None
    detail: str = ""


class StaleTake(BaseModel):
    clip: str
    take: str
    reason: str


class TimelineDiff(BaseModel):
    changes: list[Change]
    stale_takes: list[StaleTake]
    unchanged: int
    unrelated: bool = False
    notes: list[str] = Field(default_factory=list, description="Said once for the whole cut (rates...)")

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(BASE_KINDS, 0)
        for c in self.changes:
            out[c.kind] = out.get(c.kind, 0) + 1
        return out

    def to_json(self) -> dict:
        summary = {**self.counts, "unchanged": self.unchanged, "stale_takes": len(self.stale_takes),
                   "unrelated": self.unrelated, "notes": self.notes}
        return {"schema": SCHEMA, "summary": summary,
                **self.model_dump(mode="json", include={"changes", "stale_takes"})}


def _fps(rate: float) -> str:
    return f"{rate:.3f}".rstrip("0").rstrip(".")


def _state(e: Entry) -> ShotState:
    return ShotState(name=e.name, track=e.track, track_name=e.track_name, position=e.position, source=e.source,
                     rate=e.rate, source_in=e.src_in, source_out=e.src_out, record_in=e.rec_in,
                     record_out=e.rec_out, speed=e.speed, markers=_markers(e) if e.markers else [], cdl=_cdl(e),
                     take=_take(e.clip))


def _markers(e: Entry, skip: frozenset[str] = frozenset()) -> list[str]:
    """name@frame (colour), leaving out what `skip` names (limits.MARKER_COLOUR, MARKER_CASE)."""
    out = []
    for m in anydict.listed(e.clip.markers):
        name = m.name.upper() if limits.MARKER_CASE in skip else m.name
        colour = "" if limits.MARKER_COLOUR in skip else f" ({m.color})"
        out.append(f"{name}@{frames_at(m.marked_range.start_time, e.rate)}{colour}")
    return sorted(out)


def _markers_alike(o: Entry, w: Entry, skip: frozenset[str]) -> bool:
    """Markers of one clip read at two rates (25p media in a 23.976 EDL): the same names and colours, each
    within a frame of the coarser rate (formats truncate a position that falls between their frames)."""
    def timed(e: Entry) -> list[tuple[str, str, float]]:
        return sorted((m.name.upper() if limits.MARKER_CASE in skip else m.name,
                       "" if limits.MARKER_COLOUR in skip else m.color,
                       m.marked_range.start_time.to_seconds()) for m in anydict.listed(e.clip.markers))

    a, b = timed(o), timed(w)
    frame = 1 / min(o.rate, w.rate) + 1e-9
    return len(a) == len(b) and all(x[:2] == y[:2] and abs(x[2] - y[2]) <= frame for x, y in zip(a, b, strict=True))


def _cdl(e: Entry) -> dict | None:
    if "cdl" not in e.keys:
        return None
    from .cdl import get_cdl

    try:
        cdl = get_cdl(e.clip)
    except ValueError:
        return None
    if cdl is None or cdl.is_identity:
        return None
    return cdl.rounded().model_dump(mode="json")


def _take(clip) -> str | None:
    if not isinstance(clip, otio.schema.Clip):
        return None
    key = clip.active_media_reference_key
    if key == otio.schema.Clip.DEFAULT_MEDIA_KEY:
        return None
    return key if is_take(key, clip.media_references()[key]) else None


# -- the diff ----------------------------------------------------------------------------------------------


def diff_timelines(old, new, *, old_format: str | None = None, new_format: str | None = None) -> TimelineDiff:
    """`old_format`/`new_format` (io.ReadResult.format): what either file's format cannot hold is left out of
    the comparison, and named once in `notes` where it hid a difference."""
    from .shots import as_timeline

    old, new = as_timeline(old), as_timeline(new)  # an FCPX project's bin: its timeline
    ra, rb = timeline_rate(old), timeline_rate(new)
    notes: list[str] = []
    limited = {limit.aspect: limit for limit in limits.limits_of(old_format, new_format)}
    hidden: set[str] = set()
    if ra and rb and not math.isclose(ra, rb, rel_tol=1e-9):
        notes.append(f"the cuts run at different rates ({_fps(ra)} -> {_fps(rb)} fps); compared in time, to "
                     f"half a frame at {_fps(min(ra, rb))} fps")

    def same_time(fa: int, rate_a: float, fb: int, rate_b: float) -> bool:
        if rate_a == rate_b:
            return fa == fb
        return abs(fa / rate_a - fb / rate_b) < 0.5 / min(rate_a, rate_b)

    a_all, b_all = entries(old), entries(new)
    for aspect, keep in ((limits.VIDEO_TRACKS, lambda e: e.audio or e.track == "V1"),
                         (limits.AUDIO, lambda e: not e.audio),
                         (limits.NESTED, lambda e: isinstance(e.clip, otio.schema.Clip))):
        if aspect in limited and old_format != new_format:  # two EDLs hold the same tracks
            a_kept, b_kept = [e for e in a_all if keep(e)], [e for e in b_all if keep(e)]
            if (len(a_kept), len(b_kept)) != (len(a_all), len(b_all)):
                hidden.add(aspect)
            a_all, b_all = a_kept, b_kept
    changes: list[Change] = []
    stale: list[StaleTake] = []
    unchanged = 0
    identified_total = 0
    results = []
    for audio in (False, True):
        a = [e for e in a_all if e.audio == audio]
        b = [e for e in b_all if e.audio == audio]
        pairs, identified = match_shots(a, b)
        identified_total += identified
        results.append((a, b, pairs))
    if unrelated_cuts(identified_total, len(a_all), len(b_all)):
        notes.append(f"these look like different cuts: {identified_total} of {len(a_all)} old and {len(b_all)} "
                     "new clips match by id, source or name; no per-clip changes listed")
        return TimelineDiff(changes=[], stale_takes=[], unchanged=0, unrelated=True, notes=notes)
    for a, b, pairs in results:
        moved = moved_shots(a, b, pairs)
        for i in sorted(pairs):
            o, w = a[i], b[pairs[i]]
            if o.track_name != w.track_name:
                hidden.add(limits.TRACK_NAMES)
            found = _compare(o, w, same_time, i in moved, frozenset(limited), hidden)
            if not found:
                unchanged += 1
                continue
            so, sw = _state(o), _state(w)
            for kind, frames, detail in found:
                changes.append(Change(kind=_kind(kind, o.audio), id=o.key(), name=w.name, track=w.track,
                                      frames=frames, old=so, new=sw, detail=detail))
            cut = [d for k, _, d in found if k in ("slipped", "replaced", "trimmed_head", "trimmed_tail", "retimed")]
            if cut:
                reason = "; ".join(cut)
                olds = _takes_of(o.clip, reason)
                keys = {t.take for t in olds}
                stale += olds + [t for t in _takes_of(w.clip, reason) if t.take not in keys]
        matched = set(pairs.values())
        for i, e in enumerate(a):
            if i not in pairs:
                changes.append(Change(kind=_kind("removed", e.audio), id=e.key(), name=e.name, track=e.track,
                                      old=_state(e), detail=f"{e.track} at record frame {e.rec_in}"))
                stale += _takes_of(e.clip, "its shot was removed from the cut")
        for j, e in enumerate(b):
            if j not in matched:
                changes.append(Change(kind=_kind("added", e.audio), id=e.key(), name=e.name, track=e.track,
                                      new=_state(e), detail=f"{e.track} at record frame {e.rec_in}"))
    notes += [limited[aspect].name for aspect in limited if aspect in hidden]
    return TimelineDiff(changes=changes, stale_takes=stale, unchanged=unchanged, notes=notes)


def _kind(kind: str, audio: bool) -> str:
    return f"audio_{kind}" if audio else kind


def _compare(o: Entry, w: Entry, same, moved: bool, skip: frozenset[str] = frozenset(),
             hidden: set[str] | None = None) -> list[tuple[str, int | None, str]]:
    """(kind, frames, detail) for each way the pair differs; frames at the new clip's rate. Aspects in `skip`
    (a format's limits) are not compared; those that differed are added to `hidden`."""
    hidden = set() if hidden is None else hidden
    found: list[tuple[str, int | None, str]] = []
    if _replaced(o, w):
        found.append(("replaced", None, f"source {o.source} -> {w.source}"))
    # Source positions from the media's first frame where both files give it: formats disagree on where a
    # file's timecode starts (Avid's audio from 0, its video from 01:00:00:00), never on the offset into it.
    # Yet FCPX XML keeps the position and moves the start: take whichever reading agrees more.
    base_o = base_w = 0
    if o.visible and w.visible and (o.src_in, o.src_out) != (w.src_in, w.src_out):
        # Both beside a dissolve: compare what each shows (see Entry.visible).
        o, w = replace(o, src_in=o.visible[0], src_out=o.visible[1], src_exact=None), \
            replace(w, src_in=w.visible[0], src_out=w.visible[1], src_exact=None)
    same_in, same_out = same(o.src_in, o.rate, w.src_in, w.rate), same(o.src_out, o.rate, w.src_out, w.rate)
    if (o.src_exact or w.src_exact) and o.rate == w.rate and not (same_in and same_out):
        (oi, oo), (wi, wo) = o.src_exact or (o.src_in, o.src_out), w.src_exact or (w.src_in, w.src_out)
        same_in, same_out = same_in or abs(oi - wi) < 1, same_out or abs(oo - wo) < 1
    if not (same_in and same_out) and None not in (o.media_start, w.media_start):
        rel_in = same(o.src_in - o.media_start, o.rate, w.src_in - w.media_start, w.rate)
        rel_out = same(o.src_out - o.media_start, o.rate, w.src_out - w.media_start, w.rate)
        if rel_in + rel_out > same_in + same_out:
            base_o, base_w, same_in, same_out = o.media_start, w.media_start, rel_in, rel_out
    same_rec = same(o.rec_in, o.rate, w.rec_in, w.rate) and same(o.rec_out, o.rate, w.rec_out, w.rate)
    if not same_in or not same_out:
        o_in, o_out, w_in, w_out = o.src_in - base_o, o.src_out - base_o, w.src_in - base_w, w.src_out - base_w
        d_in = w_in - _at(o_in, o.rate, w.rate)
        d_out = w_out - _at(o_out, o.rate, w.rate)
        at = f" at {_fps(o.rate)} -> {_fps(w.rate)} fps" if o.rate != w.rate else ""
        into = " (frames into the file)" if base_o or base_w else ""
        # A slip keeps the clip's length (its record range, but for what edits before it ripple).
        if not same_in and not same_out and d_in == d_out:
            found.append(("slipped", d_in, f"source {o_in}-{o_out} -> {w_in}-{w_out}{at}{into} ({d_in:+d} frames)"
                          + (", same record range" if same_rec else "")))
        else:
            if not same_in:
                found.append(("trimmed_head", d_in, f"source in {o_in} -> {w_in}{at}{into} ({d_in:+d} frames)"))
            if not same_out:
                found.append(("trimmed_tail", d_out, f"source out {o_out} -> {w_out}{at}{into} ({d_out:+d} frames)"))
    if abs(o.speed - w.speed) > SPEED_TOLERANCE * max(1.0, abs(o.speed)):
        if limits.SPEED in skip:
            hidden.add(limits.SPEED)
        else:
            found.append(("retimed", None, f"speed {_speed(o.speed, w.speed)}"))
    if moved:
        parts = [f"track {o.track} -> {w.track}"] if o.track != w.track else []
        if o.position != w.position:
            parts.append(f"position {o.position} -> {w.position}")
        found.append(("moved", None, ", ".join(parts) or f"out of order among its track's clips (position "
                                                         f"{w.position})"))
    markers_o, markers_w = (_markers(o, skip), _markers(w, skip)) if o.markers or w.markers else ([], [])
    if markers_o != markers_w and o.rate != w.rate and _markers_alike(o, w, skip):
        markers_w = markers_o
    if markers_o == markers_w:
        if skip & {limits.MARKER_CASE, limits.MARKER_COLOUR} and _markers(o) != _markers(w):
            hidden.update(skip & {limits.MARKER_CASE, limits.MARKER_COLOUR})
    elif limits.MARKERS in skip:
        hidden.add(limits.MARKERS)
    else:
        gone = list((Counter(markers_o) - Counter(markers_w)).elements())
        new = list((Counter(markers_w) - Counter(markers_o)).elements())
        found.append(("markers_changed", None, "; ".join(
            p for p in (f"removed {', '.join(gone)}" if gone else "", f"added {', '.join(new)}" if new else "")
            if p)))
    cdl_o, cdl_w = _cdl(o), _cdl(w)
    if cdl_o != cdl_w and limits.CDL in skip:
        hidden.add(limits.CDL)
    elif cdl_o != cdl_w:
        found.append(("cdl_changed", None, f"CDL {_cdl_text(cdl_o)} -> {_cdl_text(cdl_w)}"))
    take_o, take_w = _take(o.clip), _take(w.clip)
    if take_o != take_w:
        found.append(("take_changed", None, f"active take {take_o or 'plate'} -> {take_w or 'plate'}"))
    return found


def _replaced(o: Entry, w: Entry) -> bool:
    """A new source: compared only where both formats say the same kind of thing (files, else reels)."""
    if o.media and w.media:
        return o.media != w.media
    if o.reel and w.reel and not (o.media or w.media):
        return o.reel != w.reel
    return False


def _at(frames: int, rate: float, to: float) -> int:
    return frames if rate == to else math.floor(frames * to / rate + 0.5)


def _speed(a: float, b: float) -> str:
    """Enough digits that the two never print alike."""
    for digits in range(3, 10):
        x, y = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if x != y:
            return f"{x} -> {y}"
    return f"{a!r} -> {b!r}"


def _cdl_text(cdl: dict | None) -> str:
    if cdl is None:
        return "none"
    return f"slope {cdl['slope']} offset {cdl['offset']} power {cdl['power']} sat {cdl['saturation']}"


def _takes_of(clip, reason: str) -> list[StaleTake]:
    if not isinstance(clip, otio.schema.Clip):
        return []
    refs = clip.media_references()
    return [StaleTake(clip=clip.name, take=key, reason=f"made for the old cut: {reason}")
            for key, ref in refs.items() if key != otio.schema.Clip.DEFAULT_MEDIA_KEY and is_take(key, ref)]

