"""A strip's Mask datablock rendered as the panel's mask, in real bpy: a square spline gives that square white
at the scene's resolution, and the artist's file is left as it was."""

from __future__ import annotations

import bpy
import numpy as np
import pytest

from shotbridge_blender.timing import strips


def square_mask(name: str, x0: float, y0: float, x1: float, y1: float):
    """A Mask with one closed square spline (vector handles: straight sides), in mask coordinates."""
    mask = bpy.data.masks.new(name)
    spline = mask.layers.new(name="shape").splines.new()
    spline.points.add(3)
    for point, co in zip(spline.points, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], strict=True):
        point.co = co
        point.handle_left_type = point.handle_right_type = "VECTOR"
    return mask


def grey_pixels(path) -> np.ndarray:
    """The PNG's first channel, top row first (Blender keeps images bottom row first)."""
    image = bpy.data.images.load(str(path))
    try:
        w, h = image.size
        pixels = np.array(image.pixels[:], dtype=np.float32).reshape(h, w, image.channels)[::-1, :, 0]
    finally:
        bpy.data.images.remove(image)
    return pixels


@pytest.fixture
def cut(scene, sequence):
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 320, 180, 50
    sed = scene.sequence_editor_create()
    strips(sed).new_image(name="sh010", filepath=str(sequence / "sh010.1001.png"), channel=1, frame_start=1)
    return scene


def test_a_mask_strip_over_the_shot_renders_its_square_white(cut, tmp_path):
    from shotbridge_blender.host import BlenderHost

    mask = square_mask("Rig removal", 0.25, 0.25, 0.5, 0.5)
    strips(cut.sequence_editor).new_mask(name="rig", mask=mask, channel=2, frame_start=1)
    scenes, groups = len(bpy.data.scenes), len(bpy.data.node_groups)
    path = BlenderHost().matte("sh010")
    pixels = grey_pixels(path)
    assert pixels.shape == (180, 320), "the scene's full resolution, whatever its percentage"
    # mask x 0.25-0.5 of the width; mask y is square space centred on the frame: (y - 0.5) * 320/180 + 0.5
    ys, xs = np.nonzero(pixels > 0.5)
    assert (xs.min(), xs.max()) == (80, 159)
    assert (ys.min(), ys.max()) == (90, 169)
    assert pixels[130, 120] == 1.0 and pixels[20, 20] == 0.0 and pixels[130, 250] == 0.0
    assert (len(bpy.data.scenes), len(bpy.data.node_groups)) == (scenes, groups), "nothing left behind"
    assert bpy.context.scene == cut and cut.render.resolution_percentage == 50


def test_without_a_mask_it_says_what_to_make(cut):
    from shotbridge_blender.matte import render_matte

    square_mask("one", 0.1, 0.1, 0.2, 0.2)
    square_mask("two", 0.1, 0.1, 0.2, 0.2)  # two masks, none on the strip: which one is not guessed
    with pytest.raises(ValueError, match="No Mask for sh010"):
        render_matte("sh010")


def test_the_sidebars_mask_button_sets_the_operations_mask(cut):
    from shotbridge_blender import ui

    square_mask("Other", 0.1, 0.1, 0.2, 0.2)
    mask = square_mask("Boom", 0.6, 0.6, 0.9, 0.9)
    # (a strip modifier's mask is not set up here: strip.modifiers.new crashes headless bpy 5.0.1)
    boom = strips(cut.sequence_editor).new_mask(name="boom", mask=mask, channel=3, frame_start=1)
    boom.select = True
    bpy.utils.register_class(ui.SHOTBRIDGE_OT_mask_from_strip)
    try:
        assert bpy.ops.shotbridge.mask_from_strip(name="mask") == {"FINISHED"}
    finally:
        bpy.utils.unregister_class(ui.SHOTBRIDGE_OT_mask_from_strip)
    path = ui.view_model().state.values["mask"]
    pixels = grey_pixels(path)
    ys, xs = np.nonzero(pixels > 0.5)
    assert path.endswith("Boom_sh010.png") and (xs.min(), xs.max()) == (192, 287)
