"""What the API says about a timeline's video items, read once per action.

Frames, as Resolve counts them:
- `GetStart()`/`GetEnd()` are record frames on the timeline, absolute (a timeline starting at 01:00:00:00
  at 24 fps starts at frame 86400; `Timeline.GetStartFrame()` says where), end exclusive.
- `GetLeftOffset()` is how many frames of the media lie before the item's first frame, so the item shows
  media frames [left, left + duration), counted from the media's first frame (0). Resolve's own OTIO export
  uses the same numbers as the clip's source range, so both ways of reading a timeline agree.
- Markers on an item are placed in the same media frames (a marker at the item's first frame is at `left`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fusionscript import MediaPoolItem, Timeline, TimelineItem

# Resolve shows an image sequence clip's "File Path" as name.[1001-1100].ext
SEQUENCE = re.compile(r"^(?P<prefix>.*?)\[(?P<first>\d+)-(?P<last>\d+)\](?P<suffix>[^\[\]]*)$")


@dataclass
class Sequence:
    folder: str
    prefix: str
    suffix: str
    first: int
    last: int
    padding: int

    def printf(self) -> str:
        """The pattern MediaPool.ImportMedia takes for a sequence (name.%04d.exr)."""
        return os.path.join(self.folder, f"{self.prefix}%0{self.padding}d{self.suffix}")


def parse_sequence(path: str) -> Sequence | None:
    folder, name = os.path.split(path)
    m = SEQUENCE.match(name)
    if not m:
        return None
    return Sequence(folder, m.group("prefix"), m.group("suffix"), int(m.group("first")), int(m.group("last")),
                    len(m.group("first")))


@dataclass
class ItemInfo:
    item: TimelineItem
    track: int  # 1-based video track index
    track_name: str
    uid: str
    name: str
    start: int  # record frames, absolute, end exclusive
    end: int
    left: int  # media frames before the item's first frame
    right: int
    source_start: int  # GetSourceStartFrame/GetSourceEndFrame, kept for reference
    source_end: int
    path: str  # the media pool clip's "File Path" ("" for generators, titles, compound clips)
    media_name: str
    markers: dict[float, dict] = field(default_factory=dict)

    @property
    def duration(self) -> int:
        return self.end - self.start


def read_item(item: TimelineItem, track: int, track_name: str) -> ItemInfo:
    mpi: MediaPoolItem | None = item.GetMediaPoolItem()
    path = str(mpi.GetClipProperty("File Path") or "") if mpi else ""
    start, end = int(round(item.GetStart(False))), int(round(item.GetEnd(False)))
    return ItemInfo(
        item=item, track=track, track_name=track_name, uid=str(item.GetUniqueId()), name=str(item.GetName()),
        start=start, end=end, left=int(round(item.GetLeftOffset(False))), right=int(round(item.GetRightOffset(False))),
        source_start=int(item.GetSourceStartFrame()), source_end=int(item.GetSourceEndFrame()),
        path=path, media_name=str(mpi.GetName()) if mpi else "", markers=dict(item.GetMarkers() or {}))


def video_items(timeline: Timeline) -> list[ItemInfo]:
    """Every item on every video track, track by track, in record order."""
    out: list[ItemInfo] = []
    for track in range(1, int(timeline.GetTrackCount("video") or 0) + 1):
        name = str(timeline.GetTrackName("video", track) or f"Video {track}")
        items = [read_item(item, track, name) for item in timeline.GetItemListInTrack("video", track) or []]
        out += sorted(items, key=lambda i: i.start)
    return out
