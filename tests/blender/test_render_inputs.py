from __future__ import annotations

from pathlib import Path

import bpy

from shotbridge_blender.render_inputs import load_images, render_timeline


def small_scene(scene):
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 32, 18, 100
    bpy.ops.mesh.primitive_cube_add()
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    cam.location = (0, -6, 0)
    cam.rotation_euler = (1.5708, 0, 0)
    scene.camera = cam


def test_render_and_depth_become_an_operation_input(scene):
    small_scene(scene)
    bpy.context.view_layer.use_pass_z = True
    timeline = render_timeline(scene, characters=["hero"])
    clip = timeline.find_clips()[0]
    beauty = Path(clip.media_reference.target_url)
    assert beauty.exists() and beauty.read_bytes()[:4] == b"\x89PNG"
    depth = Path(clip.media_references()["depth"].target_url)
    assert depth.exists() and depth.read_bytes()[:4] == b"\x76\x2f\x31\x01", "a multilayer EXR with the Z pass"
    assert list(clip.metadata["shotbridge"]["characters"]) == ["hero"]
    (image,) = load_images([beauty])
    assert image.name in bpy.data.images and tuple(image.size) == (32, 18)
    assert load_images([beauty])[0] == image, "loading again reuses the image"
