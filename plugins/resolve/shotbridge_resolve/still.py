"""A still of a shot grabbed in Resolve for the panel's mask painter: the playhead moved to the clip's first
frame, `Timeline.GrabStill()`, the still exported from the current gallery album as PNG, then deleted from the
album so the gallery is left as it was. Call on the panel's thread."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import opentimelineio as otio

from .items import video_items
from .session import ResolveSession, ResolveStateError
from .timebase import parse_rate

if TYPE_CHECKING:
    from fusionscript import GalleryStill, GalleryStillAlbum, Timeline


def grab_still(session: ResolveSession, clip_name: str, folder: Path | None = None) -> Path:
    """The first frame of the clip named `clip_name` on the current timeline as a PNG; raises
    ResolveStateError saying what to do when Resolve cannot give one."""
    session.check_thread("grab a still")
    timeline: Timeline = session.timeline()
    info = next((i for i in video_items(timeline) if i.name == clip_name), None)
    if info is None:
        raise ResolveStateError(f"The clip {clip_name} is not on the current timeline: open the timeline it is "
                                "on, or use the selection again.")
    rate = parse_rate(timeline.GetSetting("timelineFrameRate"))
    timecode = otio.opentime.to_timecode(otio.opentime.RationalTime(info.start, rate), rate)
    if not timeline.SetCurrentTimecode(timecode):
        raise ResolveStateError(f"Resolve did not move the playhead to {timecode}: open the Edit or Color page "
                                "and try again.")
    still: GalleryStill | None = timeline.GrabStill()
    if not still:
        raise ResolveStateError("Resolve grabbed no still: open the Color page with the clip under the playhead "
                                "and try again.")
    album: GalleryStillAlbum = session.project().GetGallery().GetCurrentStillAlbum()
    folder = Path(folder or tempfile.mkdtemp(prefix="shotbridge-still-"))
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"{clip_name}_{int(time.time() * 1000)}".replace("/", "_")
    try:
        exported = album.ExportStills([still], str(folder), prefix, "png")
    finally:
        album.DeleteStills([still])
    pngs = sorted(folder.glob(f"{prefix}*.png"))
    if not exported or not pngs:
        raise ResolveStateError(f"Resolve could not export the still to {folder}: check the folder is writable.")
    return pngs[0]
