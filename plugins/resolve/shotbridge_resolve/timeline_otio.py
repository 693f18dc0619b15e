"""A Resolve timeline as OTIO, the exchange's way.

Resolve 18.5 and later write OTIO themselves (`Timeline.Export(path, resolve.EXPORT_OTIO,
resolve.EXPORT_NONE)`), with transitions, effects and their own metadata; ShotBridge reads that file with the
exchange layer. Older versions get a timeline built from the API: video tracks, items, gaps, media paths and
clip markers, in the same time base as Resolve's export (see items.py), so both give the same shots.

Either way every video clip is then stamped with where it came from, `metadata["resolve"]` =
`{item_id, timeline_id, timeline, track, record_start, record_end, left_offset, file_path}`, and a ShotBridge
id (`resolve:<item unique id>`), which is how results find their way back to the item.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import opentimelineio as otio

from shotbridge.exchange import io
from shotbridge.exchange.errors import ExchangeError
from shotbridge.exchange.facts import get_facts, update_facts
from shotbridge.exchange.shots import as_timeline

from . import timebase
from .items import ItemInfo, parse_sequence, video_items
from .session import ResolveSession

if TYPE_CHECKING:
    from fusionscript import Resolve, Timeline

KEY = "resolve"
# Resolve's marker colours and OTIO's names for them (OTIO has no Sky, Mint... : those keep Resolve's name).
COLORS = {"Red": "RED", "Pink": "PINK", "Purple": "PURPLE", "Blue": "BLUE", "Cyan": "CYAN", "Green": "GREEN",
          "Yellow": "YELLOW", "Fuchsia": "MAGENTA", "Cream": "WHITE", "Cocoa": "BLACK", "Lemon": "YELLOW",
          "Sand": "ORANGE", "Rose": "PINK", "Lavender": "PURPLE", "Sky": "CYAN", "Mint": "GREEN"}


def timeline_rate(timeline: Timeline) -> float:
    return timebase.parse_rate(timeline.GetSetting("timelineFrameRate"))


def to_otio(session: ResolveSession, timeline: Timeline,
            items: list[ItemInfo] | None = None) -> tuple[otio.schema.Timeline, list[str]]:
    """The whole timeline as OTIO (Resolve's export where it has one) and warnings, one line each."""
    items = video_items(timeline) if items is None else items
    warnings: list[str] = []
    result = None
    if session.exports_otio():
        try:
            result = exported(session.resolve, timeline)
        except ExchangeError as exc:  # a file Resolve wrote but OTIO cannot read: fall back, say so
            warnings.append(f"Resolve's OTIO export could not be read ({exc}); the timeline was read through "
                            "the scripting API instead.")
    if result is None:
        result = built(timeline, items)
    warnings += annotate(result, timeline, items)
    return result, warnings


def exported(resolve: Resolve, timeline: Timeline) -> otio.schema.Timeline:
    """Resolve's own OTIO export, read with the exchange layer."""
    with tempfile.TemporaryDirectory(prefix="shotbridge-resolve-") as tmp:
        path = Path(tmp) / f"{_file_stem(str(timeline.GetName()))}.otio"
        if not timeline.Export(str(path), resolve.EXPORT_OTIO, resolve.EXPORT_NONE) or not path.exists():
            raise ExchangeError(f"Timeline.Export wrote no OTIO file for '{timeline.GetName()}'")
        read = io.read(path)
    exported_timeline = as_timeline(read.timeline)
    for ref in _references(exported_timeline):
        # Resolve writes a sequence's folder without its final separator; OTIO joins base and name directly.
        if isinstance(ref, otio.schema.ImageSequenceReference) and ref.target_url_base and \
                not ref.target_url_base.endswith(("/", "\\")):
            ref.target_url_base += "\\" if "\\" in ref.target_url_base and "/" not in ref.target_url_base else "/"
    return exported_timeline


def built(timeline: Timeline, items: list[ItemInfo]) -> otio.schema.Timeline:
    """The timeline's video tracks from the API (Resolve before 18.5)."""
    rate = timeline_rate(timeline)
    origin = int(timeline.GetStartFrame())
    result = otio.schema.Timeline(name=str(timeline.GetName()),
                                  global_start_time=otio.opentime.RationalTime(origin, rate))
    for index in range(1, int(timeline.GetTrackCount("video") or 0) + 1):
        track = otio.schema.Track(name=str(timeline.GetTrackName("video", index) or f"Video {index}"),
                                  kind=otio.schema.TrackKind.Video)
        cursor = origin
        for info in (i for i in items if i.track == index):
            if info.start > cursor:
                track.append(otio.schema.Gap(source_range=_range(0, info.start - cursor, rate)))
            elif info.start < cursor:
                continue  # Resolve never overlaps items on a track; a bad read must not build a broken track
            track.append(item_clip(info, rate))
            cursor = info.end
        result.tracks.append(track)
    return result


def item_clip(info: ItemInfo, rate: float) -> otio.schema.Clip:
    clip = otio.schema.Clip(name=info.name, source_range=_range(info.left, info.duration, rate))
    available = _range(0, info.left + info.duration + info.right, rate)
    sequence = parse_sequence(info.path) if info.path else None
    if sequence is not None:
        clip.media_reference = otio.schema.ImageSequenceReference(
            target_url_base=sequence.folder + os.sep if sequence.folder else "", name_prefix=sequence.prefix,
            name_suffix=sequence.suffix, start_frame=sequence.first, frame_zero_padding=sequence.padding,
            rate=rate, available_range=available)
    elif info.path:
        clip.media_reference = otio.schema.ExternalReference(target_url=info.path, available_range=available)
        clip.media_reference.name = os.path.basename(info.path)
    else:
        clip.media_reference = otio.schema.MissingReference(available_range=available)
    for frame, marker in sorted(info.markers.items()):
        color = str(marker.get("color") or "Blue")
        clip.markers.append(otio.schema.Marker(
            name=str(marker.get("name") or ""), color=COLORS.get(color, color.upper()),
            marked_range=_range(int(round(float(frame))), max(1, int(round(float(marker.get("duration") or 1)))), rate),
            metadata={KEY: {"note": str(marker.get("note") or ""), "custom_data": str(marker.get("customData") or ""),
                            "color": color}}))
    return clip


def annotate(result: otio.schema.Timeline, timeline: Timeline, items: list[ItemInfo]) -> list[str]:
    """Stamp each video clip with the Resolve item it shows (matched by track and record frame)."""
    origin = int(timeline.GetStartFrame())
    by_place = {(i.track, i.start): i for i in items}
    timeline_id, timeline_name = str(timeline.GetUniqueId()), str(timeline.GetName())
    warnings = []
    for index, track in enumerate(result.video_tracks(), 1):
        ranges = track.range_of_all_children()
        for clip in track:
            if not isinstance(clip, otio.schema.Clip):
                continue
            record = origin + round(ranges[clip].start_time.value)
            info = by_place.get((index, record))
            if info is None:
                warnings.append(f"{clip.name} (video track {index}, frame {record}) matches no item Resolve "
                                "lists there; it cannot receive results.")
                continue
            clip.metadata[KEY] = {
                "item_id": info.uid, "timeline_id": timeline_id, "timeline": timeline_name, "track": index,
                "record_start": info.start, "record_end": info.end, "left_offset": info.left,
                "file_path": info.path}
            facts = get_facts(clip)
            if facts is None or not facts.id:
                update_facts(clip, id=f"resolve:{info.uid}")
    return warnings


def item_id(clip: otio.schema.Clip) -> str | None:
    meta = clip.metadata.get(KEY)
    return str(meta["item_id"]) if meta and meta.get("item_id") else None


def _range(start: int, duration: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate))


def _references(timeline: otio.schema.Timeline):
    for clip in timeline.find_clips():
        yield from clip.media_references().values()


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip() or "timeline"
