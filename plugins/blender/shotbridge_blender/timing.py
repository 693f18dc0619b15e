"""Strip timing under either naming: Blender 5.2 renamed frame_final_* / frame_offset_* (the old names go in
Blender 6); 4.2-5.1 only have the old ones. Verified equal on bpy 5.2.3."""

from __future__ import annotations

import bpy

RENAMED = {
    "frame_final_start": "left_handle", "frame_final_end": "right_handle", "frame_final_duration": "duration",
    "frame_offset_start": "left_handle_offset", "frame_offset_end": "right_handle_offset",
    "frame_duration": "content_duration",
}
_NEW = "left_handle" in bpy.types.Strip.bl_rna.properties.keys()


def get(strip, name: str):
    return getattr(strip, RENAMED.get(name, name) if _NEW else name)


def put(strip, name: str, value) -> None:
    setattr(strip, RENAMED.get(name, name) if _NEW else name, value)
