"""The panel's host in Blender: selected strips out as OTIO, results in through apply.py."""

from __future__ import annotations

import bpy


class BlenderHost:
    name = "blender"

    def selection(self):
        from .vse_otio import scene_to_timeline

        scene = bpy.context.scene
        timeline = scene_to_timeline(scene)
        selected = {s.name for s in (scene.sequence_editor.strips_all if scene.sequence_editor else []) if s.select}
        if not selected:
            return timeline
        for track in timeline.tracks:
            for item in list(track):
                if hasattr(item, "media_reference") and item.name not in selected:
                    index = list(track).index(item)
                    track[index] = __import__("opentimelineio").schema.Gap(source_range=item.trimmed_range())
        return timeline

    def apply(self, timeline) -> list[str]:
        from .apply import apply_timeline

        return apply_timeline(timeline)

    def add_images(self, paths) -> list[str]:
        from .render_inputs import load_images

        return [f"image {image.name}" for image in load_images(paths)]
