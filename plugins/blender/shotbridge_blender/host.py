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

    def notify(self, text: str, level: str = "info") -> None:
        """A finished job: a report in the status bar and the Info editor."""
        from .notify import notify

        notify(text, level)

    # review (optional Host calls): the take's strip plays in the source's place, one step on Blender's undo
    undo_note = "Accept and Reject are single steps in Blender's Edit > Undo."

    def accept_take(self, clip_name: str, key: str, reference, clip=None) -> str:
        from .review import accept_take

        return accept_take(clip_name, key, reference)

    def reject_take(self, clip_name: str, key: str, was_active: bool, clip=None) -> str:
        from .review import reject_take

        return reject_take(clip_name, key, was_active)

    def matte(self, clip_name: str):
        """The strip's Mask datablock rendered at its first frame, as a grey PNG path (see matte.py)."""
        from .matte import render_matte

        return render_matte(clip_name)
