"""Sequencer names that moved between Blender versions, in one place.

- Strip timing: 5.2 renamed frame_final_* / frame_offset_* (the old names go in Blender 6); 4.2-5.1 only have
  the old ones. Verified equal on bpy 5.2.3.
- The strip collections: `sequences` / `sequences_all` until 4.4, `strips` / `strips_all` since 4.5.
- `new_effect` takes `frame_end` until 4.5 and `length` since 5.0.
"""

from __future__ import annotations

import bpy

RENAMED = {
    "frame_final_start": "left_handle", "frame_final_end": "right_handle", "frame_final_duration": "duration",
    "frame_offset_start": "left_handle_offset", "frame_offset_end": "right_handle_offset",
    "frame_duration": "content_duration",
}
STRIP_TYPE = getattr(bpy.types, "Strip", None) or bpy.types.Sequence  # Sequence until 4.4
_NEW = "left_handle" in STRIP_TYPE.bl_rna.properties.keys()


def get(strip, name: str):
    return getattr(strip, RENAMED.get(name, name) if _NEW else name)


def put(strip, name: str, value) -> None:
    setattr(strip, RENAMED.get(name, name) if _NEW else name, value)


def strips(sed):
    """The editor's top-level strips (the collection with new_movie, new_effect, remove, ...)."""
    return sed.strips if hasattr(sed, "strips") else sed.sequences


def strips_all(sed):
    """Every strip, inside meta strips too."""
    return sed.strips_all if hasattr(sed, "strips_all") else sed.sequences_all


def new_color(sed, name: str, channel: int, start: int, duration: int, color=(0.5, 0.5, 0.5)):
    collection = strips(sed)
    params = collection.bl_rna.functions["new_effect"].parameters.keys()
    span = {"length": duration} if "length" in params else {"frame_end": start + duration}
    strip = collection.new_effect(name=name, type="COLOR", channel=channel, frame_start=start, **span)
    strip.color = tuple(color)[:3]
    return strip
