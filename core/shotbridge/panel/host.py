"""What a host application gives the panel: its selection as OTIO, and a way to show results."""

from __future__ import annotations

from typing import Protocol

import opentimelineio as otio


class Host(Protocol):
    name: str

    def selection(self) -> otio.schema.Timeline | None:
        """The shots the artist selected (Read nodes, strips, timeline items), or None."""

    def apply(self, timeline: otio.schema.Timeline) -> list[str]:
        """Show a result (takes, CDL, findings) in the host; returns what was done, one line each."""


class FileHost:
    """The standalone panel's host: a timeline file opened from disk; results are merged into it."""

    name = "standalone"

    def __init__(self, timeline: otio.schema.Timeline | None = None):
        self.timeline = timeline

    def selection(self) -> otio.schema.Timeline | None:
        return self.timeline

    def apply(self, timeline: otio.schema.Timeline) -> list[str]:
        if self.timeline is None or timeline is self.timeline:
            return []
        by_name = {c.name: c for c in self.timeline.find_clips()}
        done = []
        for clip in timeline.find_clips():
            mine = by_name.get(clip.name)
            if mine is None:
                continue
            for marker in clip.markers:
                if not any(m.name == marker.name and m.marked_range == marker.marked_range for m in mine.markers):
                    mine.markers.append(marker.deepcopy())
                    done.append(f"{clip.name}: marker {marker.name}")
            if "cdl" in set(clip.metadata):
                mine.metadata["cdl"] = clip.metadata["cdl"]
                done.append(f"{clip.name}: CDL")
        return done
