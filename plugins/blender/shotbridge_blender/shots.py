"""The shot table's calls into Blender: the current frame to a shot's frame, the shots' strips selected.

A shot's frame counts from its first frame in the cut (0): the strip's `frame_final_start` + n. Main thread
only (the panel's timer dispatcher).
"""

from __future__ import annotations

import bpy

from .timing import strips_all


def _strips(scene) -> dict:
    return {s.name: s for s in strips_all(scene.sequence_editor)} if scene.sequence_editor else {}


def show_frame(clip_name: str, frame: int) -> str:
    scene = bpy.context.scene
    strip = _strips(scene).get(clip_name)
    if strip is None:
        raise LookupError(f"No strip named '{clip_name}' in scene '{scene.name}': it was renamed or deleted. "
                          "Refresh the Shots box (or select the strips again).")
    start, end = int(strip.frame_final_start), int(strip.frame_final_end)
    scene.frame_current = min(max(start + int(frame), start), end - 1)
    return f"{clip_name}: frame {scene.frame_current}"


def select_strips(names: list[str]) -> str:
    """Select exactly the strips of `names` (the last one active); says which have no strip any more."""
    scene = bpy.context.scene
    strips = _strips(scene)
    for name, strip in strips.items():
        strip.select = name in names
    chosen = [strips[n] for n in names if n in strips]
    if chosen and scene.sequence_editor is not None:
        scene.sequence_editor.active_strip = chosen[-1]
    missing = [n for n in names if n not in strips]
    return f"No strip named {', '.join(missing)} in scene '{scene.name}'." if missing else ""
