"""Which clips an editor means: Resolve's scripting API has no "selected timeline items", so ShotBridge
offers four ways to say it.

- playhead: the video items under the playhead, on every video track (`Timeline.GetCurrentTimecode()`;
  `GetCurrentVideoItem()` when the timecode cannot be read);
- marker: items carrying a clip marker of a colour, or sitting under a timeline marker of that colour;
- track: every item on one video track;
- media pool: the clips selected in the media pool (`MediaPool.GetSelectedClips()`), whole, one after
  another (a flattened movie for cut detection lives there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import opentimelineio as otio

from . import timebase
from .items import ItemInfo, parse_sequence
from .session import ResolveSession, ResolveStateError
from .timeline_otio import KEY, item_id

if TYPE_CHECKING:
    from fusionscript import MediaPoolItem, Timeline, TimelineItem

Mode = Literal["playhead", "marker", "track", "media_pool"]
MODES: dict[str, str] = {"playhead": "Clips under the playhead", "marker": "Clips with a marker colour",
                         "track": "A whole video track", "media_pool": "Clips selected in the media pool"}
# The marker colours Resolve offers (fusionscript's MarkerColor).
MARKER_COLORS = ["Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky",
                 "Mint", "Lemon", "Sand", "Cocoa", "Cream"]


@dataclass(frozen=True)
class Selection:
    mode: Mode = "playhead"
    color: str = "Blue"  # for mode "marker"
    track: int = 1  # for mode "track" (1-based, as Resolve numbers video tracks)

    def describe(self) -> str:
        if self.mode == "marker":
            return f"clips with a {self.color} marker"
        if self.mode == "track":
            return f"video track {self.track}"
        return MODES[self.mode].lower()


def pick(timeline: Timeline, items: list[ItemInfo], selection: Selection) -> list[ItemInfo]:
    """The items the selection means; raises ResolveStateError saying what to do when there are none."""
    if selection.mode == "playhead":
        chosen = _under_playhead(timeline, items)
        hint = "Move the playhead over a clip (Edit or Color page)"
    elif selection.mode == "marker":
        chosen = _with_marker(timeline, items, selection.color)
        hint = f"Put a {selection.color} marker on the clips (or on the timeline above them)"
    elif selection.mode == "track":
        count = int(timeline.GetTrackCount("video") or 0)
        if not 1 <= selection.track <= count:
            raise ResolveStateError(f"Timeline '{timeline.GetName()}' has {count} video track(s); there is no "
                                    f"video track {selection.track}. Pick a track between 1 and {count}.")
        chosen = [i for i in items if i.track == selection.track]
        hint = f"Video track {selection.track} is empty: pick another track"
    else:
        raise ValueError(f"selection mode {selection.mode!r} is not a timeline selection")
    chosen = [i for i in chosen if i.path]  # generators and titles have no media to work on
    if not chosen:
        raise ResolveStateError(f"No clip with media matches {selection.describe()} on '{timeline.GetName()}'. "
                                f"{hint}, then press Use selection again.")
    return chosen


def _under_playhead(timeline: Timeline, items: list[ItemInfo]) -> list[ItemInfo]:
    try:
        frame = timebase.timecode_frame(str(timeline.GetCurrentTimecode()),
                                        timebase.parse_rate(timeline.GetSetting("timelineFrameRate")))
    except timebase.TimebaseError:
        frame = None
    if frame is not None:
        under = [i for i in items if i.start <= frame < i.end]
        if under:
            return under
    current: TimelineItem | None = timeline.GetCurrentVideoItem()
    if current:
        uid = str(current.GetUniqueId())
        return [i for i in items if i.uid == uid]
    return []


def _with_marker(timeline: Timeline, items: list[ItemInfo], color: str) -> list[ItemInfo]:
    origin = int(timeline.GetStartFrame())
    # Timeline markers count from the timeline's first frame; items' record frames are absolute.
    spans = [(origin + int(float(f)), origin + int(float(f)) + max(1, int(float(m.get("duration") or 1))))
             for f, m in (timeline.GetMarkers() or {}).items() if m.get("color") == color]
    return [i for i in items
            if any(m.get("color") == color for m in i.markers.values())
            or any(a < i.end and i.start < b for a, b in spans)]


def keep_only(timeline: otio.schema.Timeline, chosen: list[ItemInfo]) -> otio.schema.Timeline:
    """A copy with only the chosen clips; the others become gaps so every record frame stays where it was.
    Audio tracks are left out: ShotBridge's operations work on pictures, and their media need not travel."""
    wanted = {i.uid for i in chosen}
    copy = timeline.deepcopy()
    for track in list(copy.tracks):
        if track.kind != otio.schema.TrackKind.Video:
            copy.tracks.remove(track)
            continue
        for index in range(len(track)):
            child = track[index]
            if isinstance(child, otio.schema.Clip) and item_id(child) not in wanted:
                track[index] = otio.schema.Gap(source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, child.duration().rate), child.duration()))
        # A transition needs clips on both sides; one next to a new gap would no longer make sense.
        for index in reversed(range(len(track))):
            child = track[index]
            if isinstance(child, otio.schema.Transition):
                before = track[index - 1] if index > 0 else None
                after = track[index + 1] if index + 1 < len(track) else None
                if not (isinstance(before, otio.schema.Clip) and isinstance(after, otio.schema.Clip)):
                    del track[index]
    return copy


def media_pool_clips(session: ResolveSession) -> otio.schema.Timeline:
    """The clips selected in the media pool, whole, one after another on one track."""
    clips: list[MediaPoolItem] = list(session.media_pool().GetSelectedClips() or [])
    timeline = otio.schema.Timeline(name="Media pool selection")
    track = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    skipped = []
    for mpi in clips:
        path = str(mpi.GetClipProperty("File Path") or "")
        try:
            rate = timebase.parse_rate(mpi.GetClipProperty("FPS"))
            frames = int(float(mpi.GetClipProperty("Frames") or 0))
        except (timebase.TimebaseError, ValueError):
            rate, frames = 0.0, 0
        if not path or frames <= 0:
            skipped.append(str(mpi.GetName()))
            continue
        full = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(frames, rate))
        sequence = parse_sequence(path)
        if sequence is not None:
            ref = otio.schema.ImageSequenceReference(
                target_url_base=sequence.folder + os.sep, name_prefix=sequence.prefix, name_suffix=sequence.suffix,
                start_frame=sequence.first, frame_zero_padding=sequence.padding, rate=rate, available_range=full)
        else:
            ref = otio.schema.ExternalReference(target_url=path, available_range=full)
        clip = otio.schema.Clip(name=str(mpi.GetName()), media_reference=ref, source_range=full)
        clip.metadata[KEY] = {"media_pool_item": str(mpi.GetUniqueId()), "file_path": path}
        track.append(clip)
    if not len(track):
        what = f" ({', '.join(skipped)} have no file or frame count)" if skipped else ""
        raise ResolveStateError(f"No media pool clip with a file is selected{what}. Select clips in the media "
                                "pool, then press Use selection again.")
    return timeline
