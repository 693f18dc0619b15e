"""A Mask datablock of a strip rendered as the panel's mask: the compositor's Mask node in a temporary scene
at the cut's resolution, at the strip's first frame, written as an 8-bit grey PNG; the temporary scene and
node tree are removed again, so the artist's file is left as it was. Call on Blender's main thread.

Which mask: the strip's Mask modifier's mask, else a Mask strip over the strip's first frame (a selected one
first), else the file's only Mask.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy

from .timing import get, strips_all


def strip_mask(scene, strip_name: str):
    """The Mask datablock that belongs to the strip; raises ValueError saying what to make when none does."""
    sed = scene.sequence_editor
    strips = list(strips_all(sed)) if sed else []
    strip = next((s for s in strips if s.name == strip_name), None)
    if strip is None:
        raise ValueError(f"No strip named {strip_name} in {scene.name}: use the selection again.")
    for modifier in getattr(strip, "modifiers", []):
        mask = getattr(modifier, "input_mask_id", None)
        if mask is not None and getattr(modifier, "input_mask_type", "ID") == "ID":
            return mask
    first = get(strip, "frame_final_start")
    over = [s for s in strips if s.type == "MASK" and s.mask is not None
            and get(s, "frame_final_start") <= first < get(s, "frame_final_end")]
    over.sort(key=lambda s: (not s.select, -s.channel))
    if over:
        return over[0].mask
    if len(bpy.data.masks) == 1:
        return bpy.data.masks[0]
    raise ValueError(f"No Mask for {strip_name}: draw one in the Mask editor and put it on the strip (a Mask "
                     "modifier, or a Mask strip above it at its first frame).")


def _matte_tree(scene, mask):
    """Mask node -> output, in the compositor of Blender 5 (a node group) or 4.x (the scene's node tree)."""
    if hasattr(scene, "compositing_node_group"):
        tree = bpy.data.node_groups.new("ShotBridge matte", "CompositorNodeTree")
        scene.compositing_node_group = tree
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        out = tree.nodes.new("NodeGroupOutput")
    else:  # Blender 4.x
        scene.use_nodes = True
        tree = scene.node_tree
        out = tree.nodes.new("CompositorNodeComposite")
    node = tree.nodes.new("CompositorNodeMask")
    node.mask = mask
    tree.links.new(node.outputs["Mask"], out.inputs[0])
    return tree


def render_matte(strip_name: str, folder: Path | None = None) -> Path:
    """The strip's Mask at the strip's first frame, as a grey PNG at the scene's resolution."""
    scene = bpy.context.scene
    mask = strip_mask(scene, strip_name)
    strip = next(s for s in strips_all(scene.sequence_editor) if s.name == strip_name)
    folder = Path(folder or tempfile.mkdtemp(prefix="shotbridge-matte-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{mask.name}_{strip_name}.png".replace("/", "_")
    temp = bpy.data.scenes.new("ShotBridge matte")
    tree = None
    try:
        r = temp.render
        r.resolution_x, r.resolution_y = scene.render.resolution_x, scene.render.resolution_y
        r.resolution_percentage = 100
        r.pixel_aspect_x, r.pixel_aspect_y = scene.render.pixel_aspect_x, scene.render.pixel_aspect_y
        r.use_compositing, r.use_sequencer = True, False
        r.dither_intensity = 0.0  # dither noise would make black pixels grey 1
        r.filepath = str(out)
        settings = r.image_settings
        settings.file_format, settings.color_mode, settings.color_depth = "PNG", "BW", "8"
        temp.view_settings.view_transform = "Standard"  # the default view (AgX, Filmic) would grey the white
        temp.view_settings.look, temp.view_settings.exposure, temp.view_settings.gamma = "None", 0.0, 1.0
        temp.frame_current = get(strip, "frame_final_start")
        tree = _matte_tree(temp, mask)
        bpy.ops.render.render(write_still=True, scene=temp.name)
    finally:
        if tree is not None and hasattr(temp, "compositing_node_group"):
            bpy.data.node_groups.remove(tree)
        bpy.data.scenes.remove(temp)
    if not out.is_file():
        raise ValueError(f"Blender rendered no matte for {mask.name}: check the mask has shapes at frame "
                         f"{get(strip, 'frame_final_start')}.")
    return out
