"""The current frame's render (and its depth pass, where the view layer has it) as an operation's input."""

from __future__ import annotations

import os
import tempfile

import bpy
import opentimelineio as otio

from shotbridge.exchange.facts import Facts, set_facts


def render_frame(scene, out_dir: str | None = None) -> tuple[str, str | None]:
    """Render the current frame to PNG (beauty) and, with the Z pass enabled, a multilayer EXR holding depth.

    Returns (beauty path, depth EXR path or None). The scene's own output settings are restored after.
    """
    out_dir = out_dir or tempfile.mkdtemp(prefix="shotbridge-render-")
    settings = scene.render.image_settings
    # Blender 5 chooses multilayer output with media_type first; 4.x has only file_format.
    has_media_type = hasattr(settings, "media_type")
    saved = (scene.render.filepath, settings.media_type if has_media_type else None, settings.file_format)
    frame = scene.frame_current
    beauty = os.path.join(out_dir, f"{scene.name}_{frame:04d}.png")
    depth = None
    try:
        if has_media_type:
            settings.media_type = "IMAGE"
        settings.file_format = "PNG"
        scene.render.filepath = beauty
        bpy.ops.render.render(write_still=True)
        if bpy.context.view_layer.use_pass_z:
            depth = os.path.join(out_dir, f"{scene.name}_{frame:04d}_passes.exr")
            if has_media_type:
                settings.media_type = "MULTI_LAYER_IMAGE"
            settings.file_format = "OPEN_EXR_MULTILAYER"
            scene.render.filepath = depth
            bpy.ops.render.render(write_still=True)
    finally:
        scene.render.filepath = saved[0]
        if has_media_type:
            settings.media_type = saved[1]
        settings.file_format = saved[2]
    return beauty, depth


def render_timeline(scene, characters: list[str] | None = None) -> otio.schema.Timeline:
    """A one-shot timeline of the rendered frame: the input of image operations (check_consistency, ...)."""
    beauty, depth = render_frame(scene)
    rate = scene.render.fps / scene.render.fps_base
    clip = otio.schema.Clip(name=f"{scene.name}_{scene.frame_current:04d}",
                            media_reference=otio.schema.ExternalReference(target_url=beauty),
                            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                                 otio.opentime.RationalTime(1, rate)))
    if depth:  # the beauty stays the active reference; the depth pass rides along beside it
        refs = clip.media_references()
        refs["depth"] = otio.schema.ExternalReference(target_url=depth)
        clip.set_media_references(refs, clip.active_media_reference_key)
    set_facts(clip, Facts(characters=list(characters or [])))
    timeline = otio.schema.Timeline(name=f"{scene.name} render")
    timeline.tracks.append(otio.schema.Track(name="V1"))
    timeline.tracks[0].append(clip)
    return timeline


def load_images(paths) -> list:
    """Generated images into the file's images (reused when already loaded)."""
    return [bpy.data.images.load(str(p), check_existing=True) for p in paths]
