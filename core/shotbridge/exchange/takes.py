"""Takes as versions: a generated take is another media reference on the same clip.

The clip keeps its source range and place in the cut; switching the active key swaps the media only, so
an editor can flip between the plate and AI takes without the cut changing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import opentimelineio as otio

from . import anydict
from .errors import ExchangeError

if TYPE_CHECKING:  # facts load pydantic; `timeline info` counts takes without them
    from .facts import Facts

DEFAULT = otio.schema.Clip.DEFAULT_MEDIA_KEY  # "DEFAULT_MEDIA": the original plate


def is_take(key: str, ref: otio.core.MediaReference) -> bool:
    """A take an editor chose or ShotBridge made, as opposed to media the file's own tool keeps on the clip:
    Avid's AAF reader adds the source clip and the .PHYS MXF as extra references (marked by their "AAF"
    metadata); those are the plate's media, never takes."""
    if key == DEFAULT:
        return False
    keys = anydict.keys(ref)
    return "shotbridge" in keys or "AAF" not in keys


def list_takes(clip: otio.schema.Clip) -> dict[str, otio.core.MediaReference]:
    return dict(clip.media_references())


def add_take(clip: otio.schema.Clip, media_reference: otio.core.MediaReference, key: str,
             facts: Facts | None = None, activate: bool = False) -> str:
    """Add a take under `key` (e.g. "gen_v002"); returns the key. The original stays under DEFAULT_MEDIA."""
    refs = clip.media_references()
    if key in refs:
        raise ExchangeError(f"Clip '{clip.name}' already has a take '{key}'; choose a new key.")
    if facts is not None:
        from .facts import set_facts

        set_facts(media_reference, facts)
    refs[key] = media_reference
    active = clip.active_media_reference_key
    clip.set_media_references(refs, key if activate else active)
    return key


def set_active_take(clip: otio.schema.Clip, key: str) -> None:
    if key not in clip.media_references():
        raise ExchangeError(f"Clip '{clip.name}' has no take '{key}'; it has {', '.join(clip.media_references())}.")
    clip.active_media_reference_key = key


def next_take_key(clip: otio.schema.Clip, prefix: str = "take") -> str:
    n = 1
    while f"{prefix}_v{n:03d}" in clip.media_references():
        n += 1
    return f"{prefix}_v{n:03d}"


def place_on_track(timeline: otio.schema.Timeline, track_name: str, clip: otio.schema.Clip,
                   record_start: otio.opentime.RationalTime) -> otio.schema.Track:
    """Put a new clip (gap fill, extension) on the named video track at a record time: into a gap long enough
    to hold it, or after the track's end (padded with a gap). Material already there is never moved."""
    track = next((t for t in timeline.video_tracks() if t.name == track_name), None)
    if track is None:
        track = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Video)
        timeline.tracks.append(track)
    start = record_start - timeline.global_start_time if timeline.global_start_time else record_start
    rate = start.rate
    end = track.duration() if len(track) else otio.opentime.RationalTime(0, rate)
    if start >= end:
        if start > end:
            track.append(_gap(start - end))
        track.append(clip)
        return track
    stop = start + clip.duration()
    for index, item in enumerate(track):
        span = track.range_of_child_at_index(index)
        if not (span.start_time <= start < span.end_time_exclusive()):
            continue
        if not isinstance(item, otio.schema.Gap) or stop > span.end_time_exclusive():
            raise ExchangeError(f"Track '{track_name}' already has material between {start.to_timecode()} and "
                                f"{stop.to_timecode()}; remove it, or place the new clip elsewhere.")
        parts = [p for p in (_gap(start - span.start_time), clip, _gap(span.end_time_exclusive() - stop))
                 if p is clip or p.duration().value > 0]
        del track[index]
        for offset, part in enumerate(parts):
            track.insert(index + offset, part)
        return track
    raise AssertionError("a start before the track's end falls inside one of its items")


def _gap(duration: otio.opentime.RationalTime) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, duration.rate), duration))
