"""Takes as versions: a generated take is another media reference on the same clip.

The clip keeps its source range and place in the cut; switching the active key swaps the media only, so
an editor can flip between the plate and AI takes without the cut changing.
"""

from __future__ import annotations

import opentimelineio as otio

from .errors import ExchangeError
from .facts import Facts, set_facts

DEFAULT = otio.schema.Clip.DEFAULT_MEDIA_KEY  # "DEFAULT_MEDIA": the original plate


def list_takes(clip: otio.schema.Clip) -> dict[str, otio.core.MediaReference]:
    return dict(clip.media_references())


def add_take(clip: otio.schema.Clip, media_reference: otio.core.MediaReference, key: str,
             facts: Facts | None = None, activate: bool = False) -> str:
    """Add a take under `key` (e.g. "gen_v002"); returns the key. The original stays under DEFAULT_MEDIA."""
    refs = clip.media_references()
    if key in refs:
        raise ExchangeError(f"Clip '{clip.name}' already has a take '{key}'; choose a new key.")
    if facts is not None:
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
    """Put a new clip (gap fill, extension) on the named video track at a record time, padding with gaps."""
    track = next((t for t in timeline.video_tracks() if t.name == track_name), None)
    if track is None:
        track = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Video)
        timeline.tracks.append(track)
    start = record_start - timeline.global_start_time if timeline.global_start_time else record_start
    end = track.duration() if len(track) else otio.opentime.RationalTime(0, start.rate)
    if start < end:
        raise ExchangeError(f"Track '{track_name}' already has material at {start.to_timecode()}; "
                            "results are placed after what is there.")
    if start > end:
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, start.rate), (start - end).rescaled_to(start.rate))))
    track.append(clip)
    return track
