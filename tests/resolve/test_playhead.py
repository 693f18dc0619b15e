"""The shot table in Resolve (fake, checked against fusionscript-stubs): a drift strip click moves the
playhead to the clip's record frame; selection cannot go back to Resolve, and the panel says so."""

from __future__ import annotations

import importlib.util
import threading

import pytest

from shotbridge.panel.viewmodel import PanelViewModel
from shotbridge_resolve.host import ResolveHost


def test_seek_moves_the_playhead_to_the_record_frame(edit):
    host = ResolveHost(edit.resolve)
    vm = PanelViewModel(lambda: None, host=host)
    vm.seek("A002_C001.mov", 5)  # record start 86448 + 5
    assert edit.timeline.GetCurrentTimecode() == "01:00:02:05"
    assert vm.state.message == "A002_C001.mov: playhead at 01:00:02:05"
    vm.seek("A002_C001.mov", 999)  # past the clip's end: its last frame
    assert edit.timeline.GetCurrentTimecode() == "01:00:02:23"
    vm.seek("nope.mov", 1)
    assert "No clip named 'nope.mov'" in vm.state.message
    assert edit.timeline.GetCurrentTimecode() == "01:00:02:23"


def test_use_selection_fills_the_table_and_rows_do_not_select_in_resolve(edit):
    host = ResolveHost(edit.resolve)
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()  # the clips under the playhead
    assert [r.name for r in vm.state.shots] == ["A001_C002.mov", "B001_C004.mov"]
    assert vm.state.shots[0].record_tc[0] == "01:00:00:00"
    assert not hasattr(host, "select_clips")  # Resolve's API has no call that selects timeline items
    vm.select_shots(["B001_C004.mov"])
    assert [c.name for c in vm.state.selection.find_clips()] == ["B001_C004.mov"]


def test_seek_off_the_panel_thread_is_refused(edit):
    from shotbridge_resolve.playhead import show_frame
    from shotbridge_resolve.session import WrongThread

    host = ResolveHost(edit.resolve)
    errors = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(WrongThread, show_frame, host.session,
                                                                    "A002_C001.mov", 1)))
    t.start()
    t.join()
    assert errors and edit.timeline.GetCurrentTimecode() == "01:00:00:20"


@pytest.mark.skipif(importlib.util.find_spec("pytestqt") is None, reason="needs Qt (the main venv runs it)")
def test_the_shot_table_tells_resolve_users_selection_is_one_way(edit, qtbot, tmp_path):
    from shotbridge.panel.qt_view import ShotBridgePanel

    vm = PanelViewModel(lambda: None, host=ResolveHost(edit.resolve), cache_dir=tmp_path / "cache")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    vm.take_selection_from_host()
    assert "cannot select timeline items" in panel.shots.note.text()
    vm.close()
