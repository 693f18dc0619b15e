"""The shot table in Blender (real bpy): a drift strip click sets the scene's current frame, table rows select
the strips, Use selection fills the table."""

from __future__ import annotations

import pytest

from shotbridge.panel.viewmodel import PanelViewModel


@pytest.fixture
def cut(scene, movie):
    from shotbridge_blender.timing import strips

    sed = scene.sequence_editor_create()
    a = strips(sed).new_movie(name="sh010", filepath=str(movie), channel=1, frame_start=1)
    a.frame_final_duration = 20
    b = strips(sed).new_movie(name="sh020", filepath=str(movie), channel=1, frame_start=21)
    b.frame_offset_start, b.frame_final_duration = 5, 12
    for s in (a, b):
        s.select = True
    return scene


def test_seek_sets_the_current_frame(cut):
    from shotbridge_blender.host import BlenderHost

    vm = PanelViewModel(lambda: None, host=BlenderHost())
    vm.take_selection_from_host()
    assert [r.name for r in vm.state.shots] == ["sh010", "sh020"]
    start = int(cut.sequence_editor.strips_all["sh020"].frame_final_start if hasattr(
        cut.sequence_editor, "strips_all") else cut.sequence_editor.sequences_all["sh020"].frame_final_start)
    vm.seek("sh020", 4)
    assert cut.frame_current == start + 4 and vm.state.message == f"sh020: frame {start + 4}"
    vm.seek("sh020", 100)  # past the strip's end: its last frame
    assert cut.frame_current == start + 11
    vm.seek("gone", 1)
    assert "No strip named 'gone'" in vm.state.message and cut.frame_current == start + 11


def test_selecting_rows_selects_the_strips(cut):
    from shotbridge_blender.host import BlenderHost
    from shotbridge_blender.timing import strips_all

    vm = PanelViewModel(lambda: None, host=BlenderHost())
    vm.take_selection_from_host()
    vm.select_shots(["sh020"])
    chosen = {s.name for s in strips_all(cut.sequence_editor) if s.select}
    assert chosen == {"sh020"} and cut.sequence_editor.active_strip.name == "sh020"
    vm.select_shots(["sh010", "lost"])
    assert {s.name for s in strips_all(cut.sequence_editor) if s.select} == {"sh010"}
    assert "No strip named lost" in vm.state.message
