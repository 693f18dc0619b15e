"""The shot table in Nuke (fake `nuke`, checked against types-nuke by test_api_surface.py): a drift strip
click moves the viewer's frame, table rows select the Read nodes, a host selection pulled in fills the table."""

from __future__ import annotations

import pytest

from shotbridge.panel.viewmodel import PanelViewModel


def reads(nuke):
    nuke.add("Read", "sh010", x=0, selected=True, file="/plates/sh010.mov", first=1, last=96, origlast=120)
    nuke.add("Read", "sh020", x=200, selected=True, file="/plates/sh020/sh020.%04d.exr", first=1009, last=1048,
             origfirst=1001, origlast=1100)
    nuke.add("Read", "bg", x=400, file="/plates/bg.mov", first=1, last=10)


def test_seek_moves_the_viewer_to_the_reads_frame(nuke):
    from shotbridge_nuke.host import NukeHost

    reads(nuke)
    vm = PanelViewModel(lambda: None, host=NukeHost())
    vm.take_selection_from_host()  # Use selection: the selected Reads fill the shot table
    assert [r.name for r in vm.state.shots] == ["sh010", "sh020"]
    assert vm.state.shots[1].source_tc[0] == vm.state.shots[1].tc(1009)
    vm.seek("sh020", 6)  # frame 6 of the shot: the sequence's frame 1009 + 6
    assert nuke.frame() == 1015 and vm.state.message == "sh020: viewer at frame 1015"
    vm.seek("sh010", 0)  # a movie counts from 1 in Nuke
    assert nuke.frame() == 1
    vm.seek("sh020", 500)  # past the shot's end: its last frame
    assert nuke.frame() == 1048
    vm.seek("gone", 3)
    assert nuke.frame() == 1048 and "No Read node named 'gone'" in vm.state.message


def test_selecting_rows_selects_the_read_nodes(nuke):
    from shotbridge_nuke.host import NukeHost

    reads(nuke)
    vm = PanelViewModel(lambda: None, host=NukeHost())
    vm.take_selection_from_host()
    vm.select_shots(["sh020"])
    assert [n.name() for n in nuke.selectedNodes("Read")] == ["sh020"]
    assert [c.name for c in vm.state.selection.find_clips()] == ["sh020"]
    nuke.toNode("sh010").setName("renamed")
    vm.select_shots(["sh010", "sh020"])
    assert vm.state.message == "No Read node for sh010 in this script."
    assert [n.name() for n in nuke.selectedNodes("Read")] == ["sh020"]


def test_show_frame_is_a_main_thread_call(nuke):
    import threading

    from shotbridge_nuke.shots import show_frame

    reads(nuke)
    errors = []

    def elsewhere():
        try:
            show_frame("sh010", 2)
        except Exception as exc:  # the fake refuses host calls off Nuke's main thread
            errors.append(exc)

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert errors and nuke.frame() == 1
    with pytest.raises(LookupError):
        show_frame("bg_missing", 0)
