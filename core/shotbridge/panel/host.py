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

    # Optional calls (the view model checks with getattr/hasattr, so a host may lack any of them):
    # notify(text, level): tell the artist a job ended, in the host's own way (Nuke's status bar, a Blender
    #     report); level is info | warning | error.
    # Without accept_take/reject_take a host gets `apply` of the changed selection:
    # accept_take(clip_name, key, reference, clip=None) -> str: make the take the clip's media inside the
    #     host's own undo (`clip`: the selection's clip, as the host made it, when the panel has it)
    # reject_take(clip_name, key, was_active, clip=None) -> str: hide it; when it was the clip's media, bring
    #     the original back (undoably); both return one line saying what was done, and how to undo it here.
    # undo_note: str, what the review view says about undoing in this host.
    # matte/still: hosts without them say so:
    #   matte(clip_name) -> Path: a mask the host renders for the shot (Nuke Roto, Blender Mask).
    #   still(clip_name) -> Path: a frame the host grabs for the panel's painter (Resolve).


class FileHost:
    """The standalone panel's host: a timeline file opened from disk; results are merged into it."""

    name = "standalone"

    def __init__(self, timeline: otio.schema.Timeline | None = None, look: str | None = None):
        self.timeline = timeline
        self.look = look  # a host's palette to borrow (an artist beside Blender: "blender"); None: our own
        self.shows: list = []  # callables (text, level) that show a notice: the window's status bar

    def notify(self, text: str, level: str = "info") -> None:
        """A finished job: shown by whatever window holds this host (PanelWindow: its status bar)."""
        for show in self.shows:
            show(text, level)

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

    # review: the open timeline's clip takes the take as its active media (saved with File > Save as)
    undo_note = "Accept and Reject change the open timeline; File > Save as keeps them."

    def accept_take(self, clip_name: str, key: str, reference, clip: otio.schema.Clip | None = None) -> str:
        mine = self._own(clip_name, clip)
        if mine is None:
            return f"{clip_name}: not in the open timeline; the take is accepted in the panel only"
        if mine is not clip:  # the panel works on picked copies: the timeline that is saved changes too
            refs = mine.media_references()
            if key not in refs and reference is not None:
                refs[key] = reference.deepcopy()
                mine.set_media_references(refs, mine.active_media_reference_key)
            if key in mine.media_references():
                mine.active_media_reference_key = key
        return f"{clip_name}: take {key} is the clip's media (save the timeline to keep it)"

    def reject_take(self, clip_name: str, key: str, was_active: bool, clip: otio.schema.Clip | None = None) -> str:
        mine = self._own(clip_name, clip)
        if mine is not None and mine.active_media_reference_key == key:
            mine.active_media_reference_key = otio.schema.Clip.DEFAULT_MEDIA_KEY
            return f"{clip_name}: take {key} rejected; the clip shows its original media again"
        return f"{clip_name}: take {key} hidden"

    def _own(self, clip_name: str, clip: otio.schema.Clip | None) -> otio.schema.Clip | None:
        if self.timeline is None:
            return None
        clips = list(self.timeline.find_clips())
        if clip is not None:
            return next((c for c in clips if c is clip), None) or _matcher(clips)(clip)
        named = [c for c in clips if c.name == clip_name]
        return named[0] if len(named) == 1 else None


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
