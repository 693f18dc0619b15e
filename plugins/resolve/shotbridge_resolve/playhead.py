"""The shot table's call into Resolve: move the playhead to a shot's frame.

A shot's frame counts from its first frame in the cut (0); the playhead goes to the item's record start plus
that, as a timecode at the timeline's rate. Resolve's scripting API has no call that selects timeline items,
so selection stays one-way (Resolve -> panel, through "Use selection"). Panel thread only.
"""

from __future__ import annotations

import opentimelineio as otio

from .items import video_items
from .session import ResolveSession, ResolveStateError
from .timebase import parse_rate


def show_frame(session: ResolveSession, clip_name: str, frame: int) -> str:
    session.check_thread("move the playhead")
    timeline = session.timeline()
    items = [i for i in video_items(timeline) if i.name == clip_name]
    if not items:
        raise LookupError(f"No clip named '{clip_name}' on the video tracks of timeline '{timeline.GetName()}'; "
                          "open the timeline the shots came from, or press Use selection again.")
    info = items[0]  # the same name cut in twice: its first use in the cut
    rate = parse_rate(timeline.GetSetting("timelineFrameRate"))
    record = info.start + min(max(int(frame), 0), max(info.duration - 1, 0))
    timecode = otio.opentime.to_timecode(otio.opentime.RationalTime(record, rate), rate)
    if not timeline.SetCurrentTimecode(timecode):
        raise ResolveStateError(f"Resolve did not move the playhead to {timecode}; it moves on the Cut, Edit, "
                                "Fusion, Color and Fairlight pages - switch to one and click again.")
    return f"{clip_name}: playhead at {timecode}"
