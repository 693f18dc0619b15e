"""Accept and reject a take from the panel in Blender (real bpy): the take's strip plays in its source's place
and Blender's own Edit > Undo switches back."""

from __future__ import annotations

import bpy
import opentimelineio as otio

from shotbridge.panel.viewmodel import PanelViewModel, Take
from shotbridge_blender.host import BlenderHost
from shotbridge_blender.timing import new_color, strips


def _playing(scene) -> dict[str, tuple[int, bool]]:
    return {s.name: (s.channel, s.mute) for s in strips(scene.sequence_editor).values()}


def test_accept_lays_in_and_plays_the_take_and_undo_switches_back(scene, sequence, tmp_path):
    new_color(scene.sequence_editor_create(), "sh010", 1, 1, 48, (0.5, 0.5, 0.5))
    bpy.ops.ed.undo_push(message="the artist's cut")
    vm = PanelViewModel(lambda: None, host=BlenderHost())
    vm.take_selection_from_host()
    rate = 24
    frames = otio.schema.ImageSequenceReference(
        target_url_base=sequence.as_uri() + "/", name_prefix="sh010.", name_suffix=".png", start_frame=1001,
        frame_zero_padding=4, rate=rate, available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(1001, rate), otio.opentime.RationalTime(48, rate)))
    take = Take("sh010", "gen_v001", "frames", reference=frames)
    vm.state.takes.append(take)

    assert vm.accept_take(take)
    after = _playing(scene)
    assert after["sh010"] == (2, True) and after["sh010 gen_v001"] == (1, False), after
    assert strips(scene.sequence_editor)["sh010 gen_v001"].type == "IMAGE"
    assert "Edit > Undo" in vm.state.message

    bpy.ops.ed.undo()  # Blender's own undo: the cut as it was before the accept
    scene = bpy.context.scene
    assert _playing(scene) == {"sh010": (1, False)}

    bpy.ops.ed.redo()
    scene = bpy.context.scene
    assert _playing(scene) == after
    vm.reject_take(take)
    scene = bpy.context.scene
    assert _playing(scene) == {"sh010": (1, False), "sh010 gen_v001": (2, True)}
    assert take.state == "rejected" and "the source plays again" in vm.state.message
    bpy.ops.ed.undo()
    assert _playing(bpy.context.scene) == after


def test_the_sidebar_hides_rejected_takes_until_asked(scene):
    from test_results import Layout

    import shotbridge_blender
    from shotbridge_blender import ui

    shotbridge_blender.register()
    try:
        vm = ui._VM = PanelViewModel(lambda: None)
        vm.state.connection, vm.state.connection_text = "connected", "Connected to 127.0.0.1"
        vm.state.takes += [Take("sh010", "gen_v001", "/gen/v001.mov", state="rejected"),
                           Take("sh010", "gen_v002", "/gen/v002.mov")]
        layout = Layout()
        ui.draw_panel(layout)
        assert "sh010: gen_v002 [pending] MISSING" in layout.labels
        assert not any("gen_v001" in label for label in layout.labels)
        assert "shotbridge.show_rejected" in layout.operators
        assert bpy.ops.shotbridge.show_rejected() == {"FINISHED"}
        layout = Layout()
        ui.draw_panel(layout)
        assert "sh010: gen_v001 [rejected] MISSING" in layout.labels  # reversible: shown again, and can be accepted
        bpy.ops.shotbridge.show_rejected()
    finally:
        ui._VM = None
        shotbridge_blender.unregister()
