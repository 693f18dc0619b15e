from __future__ import annotations

import tempfile
import threading

import bpy
import opentimelineio as otio

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.takes import add_take
from shotbridge_blender import apply, timers
from shotbridge_blender.vse_otio import scene_to_timeline


def grey_strip(scene, value=0.5):
    sed = scene.sequence_editor_create()
    strip = sed.strips.new_effect(name="sh010", type="COLOR", channel=1, frame_start=1, length=48)
    strip.color = (value, value, value)
    return strip


def render_pixel(scene) -> float:
    scene.render.resolution_x = scene.render.resolution_y = 8
    scene.render.resolution_percentage = 100
    scene.frame_start = scene.frame_end = 1
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = tempfile.mkdtemp() + "/f.png"
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    image.colorspace_settings.name = "Non-Color"  # the 8-bit code values as written
    return image.pixels[0]


def test_cdl_becomes_a_colour_balance_modifier_with_offset_plus_one(scene):
    strip = grey_strip(scene)
    modifier = apply.set_cdl(strip, CDL(offset=(0.1, 0.1, 0.1)), scene)  # must not crash bpy 5.0.1
    balance = modifier.color_balance
    assert balance.correction_method == "OFFSET_POWER_SLOPE"
    assert tuple(round(v, 4) for v in balance.offset) == (1.1, 1.1, 1.1)
    scene.view_settings.view_transform = "Standard"
    # Rendered: 0.5 + CDL offset 0.1 = 0.6 (in the sequencer's sRGB space), as ASC CDL says.
    assert abs(render_pixel(scene) - 0.6) < 0.01
    apply.set_cdl(strip, CDL(), scene)
    assert abs(render_pixel(scene) - 0.5) < 0.01, "an identity CDL changes nothing"
    assert len(strip.modifiers) == 1, "re-applying reuses the modifier"


def result_timeline(scene):
    grey_strip(scene)
    timeline = scene_to_timeline(scene)
    clip = timeline.find_clips()[0]
    set_cdl(clip, CDL(slope=(1.2, 1.0, 0.8)))
    add_finding(clip, otio.opentime.TimeRange(otio.opentime.RationalTime(30, 24), otio.opentime.RationalTime(18, 24)),
                {"kind": "drift", "expected": "obama", "found": "kit_harington", "frames": [30, 47]})
    add_take(clip, otio.schema.GeneratorReference(generator_kind="SolidColor", parameters={"color": [1, 0, 0]}),
             "gen_v001")
    return timeline


def test_results_land_through_the_timer_queue(scene):
    timeline = result_timeline(scene)
    touched_by = []

    def apply_result(tl):
        touched_by.append(threading.current_thread().name)
        apply.apply_timeline(tl, scene)

    worker = threading.Thread(target=timers.dispatch, args=(apply_result, timeline), name="shotbridge-watch")
    worker.start()
    worker.join()
    assert "drift" not in " ".join(m.name for m in scene.timeline_markers), "nothing applied off the main thread"
    timers.register()
    assert bpy.app.timers.is_registered(timers.drain)
    # Module-mode bpy has no event loop to fire timers: run the registered callback as Blender's loop would.
    assert timers.drain() == timers.INTERVAL
    timers.unregister()
    assert touched_by == [threading.main_thread().name]
    markers = [(m.name, m.frame) for m in scene.timeline_markers]
    assert markers == [("drift: obama (kit_harington)", 31)]
    strips = scene.sequence_editor.strips
    assert round(strips["sh010"].modifiers["ShotBridge CDL"].color_balance.slope[0], 5) == 1.2
    take = strips["sh010 gen_v001"]
    assert take.channel == 2 and take.mute and take.frame_final_start == 1
    apply.accept_take(scene, "sh010", "sh010 gen_v001")
    assert not take.mute and strips["sh010"].mute


def test_extension_registers_and_the_token_stays_out_of_the_blend(scene, tmp_path):
    import shotbridge_blender

    shotbridge_blender.register()
    try:
        assert hasattr(bpy.types, "SHOTBRIDGE_PT_sequencer") and bpy.app.timers.is_registered(timers.drain)
        from shotbridge_blender.ui import draw_panel

        class Layout:  # records what the panel draws
            def __init__(self):
                self.labels = []

            def label(self, text="", icon="NONE"):
                self.labels.append(text)

            def operator(self, *a, **k):
                return type("Op", (), {})()

            def row(self):
                return self

        layout = Layout()
        draw_panel(layout)
        assert layout.labels == ["Not connected"]
        scene["shotbridge_note"] = "a normal property"
        blend = tmp_path / "shot.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
        assert b"sbt_" not in blend.read_bytes()
    finally:
        shotbridge_blender.unregister()


def test_sidebar_accept_swaps_the_take_in(scene):
    import shotbridge_blender
    from shotbridge.panel.viewmodel import PanelViewModel, Take
    from shotbridge_blender import ui
    from shotbridge_blender.host import BlenderHost

    grey_strip(scene)
    shotbridge_blender.register()
    try:
        ui._VM = PanelViewModel(lambda: None, host=BlenderHost())
        ui._VM.take_selection_from_host()
        take = Take("sh010", "gen_v001", "/gen/missing_v001.mov")
        ui._VM.state.takes.append(take)
        assert bpy.ops.shotbridge.take(index=0, accept=True) == {"FINISHED"}
        strips = scene.sequence_editor.strips
        assert take.state == "accepted" and not strips["sh010 gen_v001"].mute and strips["sh010"].mute
        assert bpy.ops.shotbridge.take(index=0, accept=False) == {"FINISHED"}
        assert take.state == "rejected" and strips["sh010 gen_v001"].mute and not strips["sh010"].mute
    finally:
        ui._VM = None
        shotbridge_blender.unregister()


def test_sidebar_picks_operations_and_sets_parameters(scene):
    import shotbridge_blender
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_blender import ui

    shotbridge_blender.register()
    try:
        vm = ui._VM = PanelViewModel(lambda: None)
        vm.state.operations = _ops()
        vm.select_operation("echo")
        assert bpy.ops.shotbridge.pick_operation(operation="detect_shots") == {"FINISHED"}
        assert vm.state.operation.name == "detect_shots"
        assert bpy.ops.shotbridge.set_param("EXEC_DEFAULT", name="threshold", value="40") == {"FINISHED"}
        assert vm.state.values["threshold"] == 40.0
        import pytest

        with pytest.raises(RuntimeError, match="Threshold must be at most 100"):  # shown to the artist
            bpy.ops.shotbridge.set_param("EXEC_DEFAULT", name="threshold", value="400")
        assert vm.state.values["threshold"] == 40.0, "a value out of range is refused, the old one kept"
    finally:
        ui._VM = None
        shotbridge_blender.unregister()


def _ops():
    from shotbridge.models import Operation

    echo = {"properties": {"message": {"type": "string", "default": "hello"},
                           "seconds": {"type": "number", "minimum": 0, "maximum": 600, "default": 0}}}
    shots = {"properties": {"media": {"type": "string", "format": "asset"},
                            "threshold": {"type": "number", "minimum": 1, "maximum": 100, "default": 27}},
             "required": ["media"]}
    return [Operation(name="echo", title="Echo", description="", params_schema=echo, result_schema={}, providers=["local"]),
            Operation(name="detect_shots", title="Detect shots", description="", params_schema=shots, result_schema={},
                      providers=["local"])]


def test_selection_is_the_selected_strips(scene):
    from shotbridge_blender.host import BlenderHost

    sed = scene.sequence_editor_create()
    a = sed.strips.new_effect(name="a", type="COLOR", channel=1, frame_start=1, length=10)
    b = sed.strips.new_effect(name="b", type="COLOR", channel=1, frame_start=11, length=10)
    a.select, b.select = False, True
    timeline = BlenderHost().selection()  # held: OTIO children do not keep their parents alive
    clips = timeline.find_clips()
    assert [c.name for c in clips] == ["b"]
    assert clips[0].range_in_parent().start_time.value == 10, "the cut keeps its timing"
