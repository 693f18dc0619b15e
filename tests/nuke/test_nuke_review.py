"""Accept and reject a take from the panel in Nuke (the fake, checked against the stubs): the shot's Read
switches to the take's frames in one undo group, and Edit > Undo brings the plate back."""

from __future__ import annotations

import opentimelineio as otio

from shotbridge.panel.viewmodel import PanelViewModel, Take


def _take_frames(tmp_path, first: int, last: int) -> otio.schema.ImageSequenceReference:
    folder = tmp_path / "renders"
    folder.mkdir()
    for n in range(first, last + 1):
        (folder / f"sh010_gen_v001.{n:04d}.png").write_bytes(b"frame")
    rate = 24
    return otio.schema.ImageSequenceReference(
        target_url_base=folder.as_uri() + "/", name_prefix="sh010_gen_v001.", name_suffix=".png",
        start_frame=first, frame_zero_padding=4, rate=rate, available_range=otio.opentime.range_from_start_end_time_inclusive(
            otio.opentime.RationalTime(first, rate), otio.opentime.RationalTime(last, rate)))


def _file(read) -> str:
    return read["file"].value()


def test_accept_switches_the_read_in_one_undo_step_and_reject_brings_the_plate_back(nuke, tmp_path):
    from shotbridge_nuke.host import NukeHost

    read = nuke.add("Read", "sh010", selected=True, file="/plates/sh010/sh010.%04d.exr", first=1009, last=1012,
                    origfirst=1001, origlast=1100)
    vm = PanelViewModel(lambda: None, host=NukeHost())
    vm.take_selection_from_host()
    take = Take("sh010", "gen_v001", "renders", reference=_take_frames(tmp_path, 1009, 1012))
    vm.state.takes.append(take)

    assert vm.accept_take(take)
    path = str(tmp_path / "renders" / "sh010_gen_v001.####.png")
    assert _file(read) == path
    assert [read[k].value() for k in ("first", "last", "origfirst", "origlast")] == [1009, 1012, 1009, 1012]
    assert read["shotbridge_take"].value() == "gen_v001" and read["shotbridge_take"].getFlag(nuke.INVISIBLE)
    assert "Edit > Undo" in vm.state.message
    assert nuke.Undo.log[-2:] == ["begin ShotBridge: accept gen_v001 on sh010", "end"]

    nuke.undo()  # Edit > Undo: the whole accept goes back at once
    assert _file(read) == "/plates/sh010/sh010.%04d.exr"
    assert [read[k].value() for k in ("first", "last", "origfirst", "origlast")] == [1009, 1012, 1001, 1100]
    assert read.knob("shotbridge_take") is None

    assert vm.accept_take(take)
    vm.reject_take(take)
    assert _file(read) == "/plates/sh010/sh010.%04d.exr" and read["shotbridge_take"].value() == ""
    assert [read[k].value() for k in ("first", "last", "origfirst", "origlast")] == [1009, 1012, 1001, 1100]
    assert take.state == "rejected" and "reads its plate again" in vm.state.message
    nuke.undo()  # undoing the reject shows the take again
    assert _file(read) == path and read["shotbridge_take"].value() == "gen_v001"


def test_a_missing_take_leaves_the_read_alone(nuke, tmp_path):
    from shotbridge_nuke.host import NukeHost

    read = nuke.add("Read", "sh010", selected=True, file="/plates/sh010.mov", first=1, last=24, origlast=24)
    vm = PanelViewModel(lambda: None, host=NukeHost())
    vm.take_selection_from_host()
    gone = otio.schema.ExternalReference(target_url=(tmp_path / "gone.mov").as_uri())
    take = Take("sh010", "gen_v002", "gone.mov", reference=gone)
    assert not vm.accept_take(take)
    assert _file(read) == "/plates/sh010.mov" and nuke.Undo.log == []
    assert "cannot be accepted" in vm.state.message and "gone.mov is not on disk" in vm.state.message


def test_rejecting_a_take_the_read_does_not_show_changes_nothing(nuke, tmp_path):
    from shotbridge_nuke.host import NukeHost

    read = nuke.add("Read", "sh010", selected=True, file="/plates/sh010.mov", first=1, last=24, origlast=24)
    vm = PanelViewModel(lambda: None, host=NukeHost())
    vm.take_selection_from_host()
    take = Take("sh010", "gen_v001", "x", reference=_take_frames(tmp_path, 1, 24))
    vm.reject_take(take)
    assert _file(read) == "/plates/sh010.mov" and nuke.Undo.log == [] and "hidden" in vm.state.message
