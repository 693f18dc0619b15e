"""What a recut changed: shots added, removed, moved, trimmed, retimed and re-sourced, and the AI takes it
made stale.

Shots are matched by identity (the ShotBridge id in metadata, else source and source in point); clips left
over are paired by source with overlapping source ranges (a trim moves the in point). Moves are the
minimum: the shots outside a longest increasing run of positions, so a reorder reports what moved, not
every shot after it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import opentimelineio as otio
from pydantic import BaseModel, Field

from . import anydict
from .shots import as_timeline, identity, source_of
from .takes import DEFAULT

Kind = Literal["added", "removed", "moved", "trimmed", "retimed", "resourced"]


class ShotState(BaseModel):
    name: str
    track: str
    position: int = Field(description="Index among the video clips of the cut, track by track")
    source: str
    source_start: float
    source_end: float
    record_start: float
    speed: float


class Change(BaseModel):
    kind: Kind
    id: str
    name: str
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

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("added", "removed", "moved", "trimmed", "retimed", "resourced"), 0)
        for c in self.changes:
            out[c.kind] += 1
        return out

    def to_json(self) -> dict:
        return {"summary": {**self.counts, "unchanged": self.unchanged, "stale_takes": len(self.stale_takes)},
                **self.model_dump(mode="json", include={"changes", "stale_takes"})}


@dataclass
class _Entry:
    clip: otio.schema.Clip
    key: str
    state: ShotState


def _entries(obj) -> list[_Entry]:
    timeline = as_timeline(obj)
    out: list[_Entry] = []
    for track in timeline.video_tracks():
        ranges = track.range_of_all_children()
        for item in anydict.listed(track):
            if not isinstance(item, otio.schema.Clip):
                continue
            src = item.trimmed_range()
            speed = 1.0
            for effect in anydict.listed(item.effects):
                if isinstance(effect, otio.schema.LinearTimeWarp):
                    speed *= effect.time_scalar
            keys = anydict.keys(item)  # read once (see anydict)
            state = ShotState(
                name=item.name, track=track.name, position=len(out), source=source_of(item, keys),
                source_start=src.start_time.value, source_end=src.end_time_exclusive().value,
                record_start=ranges[item].start_time.value, speed=speed)
            out.append(_Entry(item, identity(item, keys), state))
    return out


def diff_timelines(old, new) -> TimelineDiff:
    a, b = _entries(old), _entries(new)
    pairs: list[tuple[int, int]] = []
    by_key: dict[str, list[int]] = defaultdict(list)
    for j, e in enumerate(b):
        by_key[e.key].append(j)
    left_a = []
    for i, e in enumerate(a):
        if by_key.get(e.key):
            pairs.append((i, by_key[e.key].pop(0)))
        else:
            left_a.append(i)
    used_b = {j for _, j in pairs}
    # A trim changes the in point: pair leftovers with the same source and overlapping source ranges.
    by_source: dict[str, list[int]] = defaultdict(list)
    for j, e in enumerate(b):
        if j not in used_b:
            by_source[e.state.source].append(j)
    removed = []
    for i in left_a:
        s = a[i].state
        match = next((j for j in by_source.get(s.source, []) if b[j].state.source_start < s.source_end
                      and s.source_start < b[j].state.source_end), None)
        if match is None:
            removed.append(i)
        else:
            by_source[s.source].remove(match)
            pairs.append((i, match))
            used_b.add(match)
    pairs.sort()
    stay = _longest_increasing([j for _, j in pairs])
    changes: list[Change] = []
    stale: list[StaleTake] = []
    unchanged = 0
    for n, (i, j) in enumerate(pairs):
        o, w = a[i].state, b[j].state
        kinds: list[tuple[Kind, str]] = []
        if o.source != w.source:
            kinds.append(("resourced", f"{o.source} -> {w.source}"))
        elif (o.source_start, o.source_end) != (w.source_start, w.source_end):
            kinds.append(("trimmed", f"source {o.source_start:g}-{o.source_end:g} -> {w.source_start:g}-{w.source_end:g}"))
        if o.speed != w.speed:
            kinds.append(("retimed", f"speed {o.speed:g} -> {w.speed:g}"))
        if n not in stay or o.track != w.track:
            kinds.append(("moved", f"position {o.position} -> {w.position}" +
                          (f", track {o.track} -> {w.track}" if o.track != w.track else "")))
        if not kinds:
            unchanged += 1
        for kind, detail in kinds:
            changes.append(Change(kind=kind, id=a[i].key, name=w.name, old=o, new=w, detail=detail))
        if any(k in ("resourced", "trimmed", "retimed") for k, _ in kinds):
            reason = "; ".join(d for k, d in kinds if k != "moved")
            found = _takes_of(a[i].clip, reason)
            keys = {t.take for t in found}
            stale += found + [t for t in _takes_of(b[j].clip, reason) if t.take not in keys]
    for i in removed:
        changes.append(Change(kind="removed", id=a[i].key, name=a[i].state.name, old=a[i].state))
        stale += _takes_of(a[i].clip, "its shot was removed from the cut")
    for j, e in enumerate(b):
        if j not in used_b:
            changes.append(Change(kind="added", id=e.key, name=e.state.name, new=e.state))
    return TimelineDiff(changes=changes, stale_takes=stale, unchanged=unchanged)


def _takes_of(clip: otio.schema.Clip, reason: str) -> list[StaleTake]:
    return [StaleTake(clip=clip.name, take=key, reason=f"made for the old cut: {reason}")
            for key in clip.media_references() if key != DEFAULT]


def _longest_increasing(seq: list[int]) -> set[int]:
    """Indices of one longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list[int] = []
    tail_idx: list[int] = []
    prev = [-1] * len(seq)
    for i, x in enumerate(seq):
        k = bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
            tail_idx.append(i)
        else:
            tails[k] = x
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k else -1
    out: set[int] = set()
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out
