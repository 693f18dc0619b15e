"""The panel's host in Blender: selected strips out as OTIO, results in through apply.py."""

from __future__ import annotations

import bpy


class BlenderHost:
    name = "blender"

    def selection(self):
        """The scene's cut, with unselected strips as gaps (all strips when none is selected)."""
        from .timing import strips_all
        from .vse_otio import scene_to_timeline

        scene = bpy.context.scene
        strips = strips_all(scene.sequence_editor) if scene.sequence_editor else []
        return scene_to_timeline(scene, {s.name for s in strips if s.select} or None)

    def apply(self, timeline) -> list[str]:
        from .apply import apply_timeline

        return apply_timeline(timeline)

    def show_frame(self, clip_name: str, frame: int) -> str:
        from .shots import show_frame

        return show_frame(clip_name, frame)

    def select_clips(self, names: list[str]) -> str:
        from .shots import select_strips

        return select_strips(names)

    def add_images(self, paths) -> list[str]:
        from .render_inputs import load_images

        return [f"image {image.name}" for image in load_images(paths)]
