"""Shots out of a cut: what an artist pulls to work on, with the facts they need."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import opentimelineio as otio
from pydantic import BaseModel, Field

from . import anydict
from .cdl import CDL, get_cdl
from .errors import ExchangeError
from .facts import get_facts


class Shot(BaseModel):
    id: str = Field(description="Stable identity: the ShotBridge id, else media + source range")
    name: str
    track: str
    index: int = Field(description="Position among the track's clips, from 0")
    media: str | None = Field(description="Media URL, or an image-sequence pattern with ####")
    rate: float
    source_start: int = Field(description="Source in, frames (including handles)")
    source_end: int = Field(description="Source out, exclusive, frames (including handles)")
    handles: int
    record_start: int = Field(description="Record in on the timeline, frames from its start")
    record_end: int
    timecode: str | None = Field(description="Source in as timecode (without handles)")
    reel: str | None = None
    cdl: CDL | None = None
    characters: list[str] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)


def as_timeline(obj) -> otio.schema.Timeline:
    """Shots come from timelines; a lone clip, track or bin (ALE) is put in one. A bin holding one timeline
    (an FCPX project beside its event's clips) is that timeline, its lanes and gaps as they are."""
    if isinstance(obj, otio.schema.Timeline):
        return obj
    if isinstance(obj, otio.schema.SerializableCollection):
        timelines = [obj[i] for i in range(len(obj)) if isinstance(obj[i], otio.schema.Timeline)]
        if len(timelines) == 1:
            return timelines[0]
    timeline = otio.schema.Timeline(name=getattr(obj, "name", "") or "timeline")
    if isinstance(obj, otio.schema.Track):
        timeline.tracks.append(obj.deepcopy())
    elif isinstance(obj, otio.schema.Clip):
        track = otio.schema.Track(name="V1")
        track.append(obj.deepcopy())
        timeline.tracks.append(track)
    elif hasattr(obj, "find_clips"):
        track = otio.schema.Track(name="V1")
        for clip in obj.find_clips():
            track.append(clip.deepcopy())
        timeline.tracks.append(track)
    else:
        raise ExchangeError(f"a {obj.schema_name()} holds no shots.")
    return timeline


def media_name(ref) -> str | None:
    if isinstance(ref, otio.schema.ExternalReference):
        return ref.target_url
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return f"{ref.target_url_base}{ref.name_prefix}{'#' * max(1, ref.frame_zero_padding)}{ref.name_suffix}"
    return None


def sequence_frame(ref: otio.schema.ImageSequenceReference, time: otio.opentime.RationalTime) -> int:
    """The file frame number showing `time` (OTIO's own helper needs an available range; many files lack one)."""
    if ref.available_range is not None:
        return ref.frame_for_time(time)
    return ref.start_frame + round(time.rescaled_to(ref.rate or time.rate).value)


def _meta(clip: otio.schema.Clip, key: str, keys: set[str] | None = None) -> dict:
    # Callers that look up several keys pass the clip's key set, read once (see anydict).
    value = anydict.get(clip, key, keys)
    return value if isinstance(value, dict) else {}


def source_of(clip: otio.schema.Clip, keys: set[str] | None = None) -> str:
    """What a clip shows: its media, else its reel (EDLs), else its name."""
    return media_name(clip.media_reference) or _meta(clip, "cmx_3600", keys).get("reel") or clip.name


def identity(clip: otio.schema.Clip, keys: set[str] | None = None) -> str:
    """The ShotBridge id when the clip has one, else its source and source in point (`keys`: the clip's
    metadata keys, when the caller has them already)."""
    facts = _meta(clip, "shotbridge", keys)
    if facts.get("id"):
        return str(facts["id"])
    start = clip.trimmed_range().start_time
    return f"{source_of(clip, keys)}@{_num(start.value)}/{_num(start.rate)}"


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def extract_shots(
    timeline, track: str | int | None = None, record_range: tuple[int, int] | None = None,
    name: str | None = None, marker: str | None = None, handles: int = 0,
) -> list[Shot]:
    """Video clips as shots, filtered by track (name or index), record range (frames), name pattern
    (glob, or /regex/) or marker name/colour."""
    timeline = as_timeline(timeline)
    shots = []
    for t_index, t in enumerate(timeline.video_tracks()):
        if track is not None and track not in (t.name, t_index, str(t_index)):
            continue
        clips = [c for c in anydict.listed(t) if isinstance(c, otio.schema.Clip)]
        ranges = t.range_of_all_children()  # one pass; asking per clip would be quadratic
        for index, clip in enumerate(clips):
            shot = _shot(clip, t, index, handles, ranges[clip])
            if record_range and not (shot.record_start < record_range[1] and shot.record_end > record_range[0]):
                continue
            if name and not _name_matches(clip.name, name):
                continue
            if marker and not any(marker in (m.name, m.color) for m in anydict.listed(clip.markers)):
                continue
            shots.append(shot)
    return shots


def _name_matches(value: str, pattern: str) -> bool:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], value) is not None
    return fnmatchcase(value, pattern)


def _shot(clip: otio.schema.Clip, track: otio.schema.Track, index: int, handles: int,
          record: otio.opentime.TimeRange) -> Shot:
    src = clip.trimmed_range()
    rate = src.duration.rate
    start = round(src.start_time.value)
    try:
        tc = otio.opentime.to_timecode(src.start_time, rate)
    except (ValueError, TypeError):
        tc = None
    keys = anydict.keys(clip)
    facts = get_facts(clip) if "shotbridge" in keys else None
    reel = _meta(clip, "cmx_3600", keys).get("reel") or _meta(clip, "ALE", keys).get("Tape")
    return Shot(  # validated: pydantic-core checks 17 fields faster than model_construct copies them in Python
        id=identity(clip, keys), name=clip.name, track=track.name, index=index,
        media=media_name(clip.media_reference), rate=rate,
        source_start=start - handles, source_end=start + round(src.duration.value) + handles, handles=handles,
        record_start=round(record.start_time.rescaled_to(rate).value),
        record_end=round(record.end_time_exclusive().rescaled_to(rate).value),
        timecode=tc, reel=reel, cdl=get_cdl(clip) if "cdl" in keys else None,
        characters=facts.characters if facts else [],
        markers=[m.name for m in anydict.listed(clip.markers)],
    )
