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

    # Optional (the view model checks with hasattr; hosts without them say so):
    #   matte(clip_name) -> Path: a mask the host renders for the shot (Nuke Roto, Blender Mask).
    #   still(clip_name) -> Path: a frame the host grabs for the panel's painter (Resolve).


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
        match = _matcher(list(self.timeline.find_clips()))
        done = []
        for clip in timeline.find_clips():
            mine = match(clip)
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


def _matcher(clips: list[otio.schema.Clip]):
    """Which of our clips a result clip is: by stable identity (the ShotBridge id, else source and in point),
    else by name when only one clip has it. Editors cut one file in many times under one name, so a name alone
    never decides between clips; equal identities pair up in cut order."""
    from ..exchange.shots import identity

    def key_of(clip: otio.schema.Clip) -> str:
        try:
            return identity(clip)
        except otio.exceptions.OTIOError:  # no range anywhere (a bare file opened as a clip): its name it is
            return f"name:{clip.name}"

    by_identity: dict[str, list[otio.schema.Clip]] = {}
    by_name: dict[str, list[otio.schema.Clip]] = {}
    for clip in clips:
        by_identity.setdefault(key_of(clip), []).append(clip)
        by_name.setdefault(clip.name, []).append(clip)
    seen: dict[str, int] = {}

    def match(clip: otio.schema.Clip) -> otio.schema.Clip | None:
        key = key_of(clip)
        same = by_identity.get(key)
        if same:
            n = seen.get(key, 0)
            seen[key] = n + 1
            return same[n] if n < len(same) else None
        named = by_name.get(clip.name, [])
        return named[0] if len(named) == 1 else None

    return match
