"""The Nuke adapter against the fake `nuke`: selection out as shots, results in as nodes, events via the
main thread."""

from __future__ import annotations

import runpy
import threading

import opentimelineio as otio

from shotbridge.exchange.cdl import CDL, get_cdl, set_cdl
from shotbridge.exchange.facts import Facts, get_facts
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.takes import add_take


def test_selected_reads_become_shots(nuke):
    from shotbridge_nuke import host

    nuke.add("Read", "Read2", x=200, selected=True, file="/plates/sh020/sh020.%04d.exr", first=1001, last=1048,
             colorspace="ACES - ACEScg")
    nuke.add("Read", "Read1", x=0, selected=True, file="/plates/sh010.mov", first=1, last=96)
    nuke.add("Read", "Ignored", x=100, file="/plates/x.mov")
    timeline = host.selection_to_timeline()
    a, b = timeline.find_clips()
    assert (a.name, b.name) == ("Read1", "Read2"), "left to right in the DAG"
    assert a.media_reference.target_url == "/plates/sh010.mov" and a.source_range.duration.to_frames() == 96
    seq = b.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    assert (seq.name_prefix, seq.name_suffix, seq.start_frame, seq.frame_zero_padding) == ("sh020.", ".exr", 1001, 4)
    assert b.metadata["nuke"]["colorspace"] == "ACES - ACEScg" and b.metadata["nuke"]["format"]["width"] == 1920
    assert get_facts(b).id == "Read2:/plates/sh020/sh020.%04d.exr"


def test_nothing_selected_says_what_to_do(nuke):
    import pytest

    from shotbridge_nuke import host

    with pytest.raises(ValueError, match="Select one or more Read nodes"):
        host.selection_to_timeline()


def _results(nuke):
    from shotbridge_nuke import host

    plate = nuke.add("Read", "Read1", x=0, y=0, selected=True, file="/plates/sh010.mov", first=1, last=96)
    timeline = host.selection_to_timeline()
    clip = timeline.find_clips()[0]
    add_take(clip, otio.schema.ExternalReference(target_url="/gen/sh010_ext_v001.mov"), "gen_v001",
             facts=Facts(operation="extend_shot"))
    matte = otio.schema.ExternalReference(target_url="/gen/sh010_matte.####.exr")
    add_take(clip, matte, "matte_v001")
    matte.metadata["shotbridge"] = {"schema": 1, "kind": "matte"}
    set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9), saturation=0.8))
    add_finding(clip, otio.opentime.TimeRange(otio.opentime.RationalTime(30, 24), otio.opentime.RationalTime(18, 24)),
                {"kind": "drift", "expected": "obama", "found": "kit_harington", "frames": [30, 47]})
    return plate, timeline


def test_results_become_nodes_once(nuke):
    from shotbridge_nuke.apply import apply_timeline

    plate, timeline = _results(nuke)
    done = apply_timeline(timeline)
    assert any("take gen_v001" in d for d in done) and any("matte" in d for d in done)
    take = nuke.toNode("SB_Read1_gen_v001")
    assert take.Class() == "Read" and take["file"].value() == "/gen/sh010_ext_v001.mov"
    assert take.xpos() > plate.xpos() and take.input(0) is None, "beside the plate, not wired into it"
    backdrop = nuke.toNode("SB_Read1_gen_v001_bd")
    assert "extend_shot" in backdrop["label"].value() and "gen_v001" in backdrop["label"].value()
    cdl = nuke.toNode("SB_Read1_CDL")
    assert cdl.Class() == "OCIOCDLTransform" and cdl.input(0) is plate
    assert cdl["slope"].value() == [1.1, 1.0, 0.9] and cdl["saturation"].value() == 0.8
    copy = nuke.toNode("SB_Read1_matte_v001_alpha")
    assert copy["from0"].value() == "rgba.alpha" and copy.input(0) is plate
    assert copy.input(1) is nuke.toNode("SB_Read1_matte_v001")
    assert plate["tile_color"].value() == 0xFF0000FF
    assert "kit_harington instead of obama, frames 30-47" in plate["label"].value()
    count = len(nuke.allNodes())
    apply_timeline(timeline)
    assert len(nuke.allNodes()) == count, "applying twice adds nothing"


def test_results_for_a_missing_read_are_reported_not_raised(nuke):
    from shotbridge_nuke.apply import apply_timeline

    _, timeline = _results(nuke)
    nuke.reset()
    assert apply_timeline(timeline) == ["Read1: no Read node 'Read1' in this script; skipped"]


def test_events_reach_nuke_only_on_its_main_thread(nuke):
    from shotbridge_nuke.apply import apply_timeline
    from shotbridge_nuke.dispatch import main_thread

    _, timeline = _results(nuke)
    ran_on = []

    def apply_result(tl):
        ran_on.append(threading.current_thread().name)
        apply_timeline(tl)

    worker = threading.Thread(target=main_thread, args=(apply_result, timeline), name="shotbridge-watch")
    worker.start()
    worker.join()
    nuke.drain()
    assert ran_on == ["nuke-main"] and nuke.main_thread_calls[-1] == "apply_result"
    assert nuke.toNode("SB_Read1_CDL") is not None


def test_menu_and_panel_registration(nuke):
    import nukescripts

    from shotbridge_nuke import menu

    menu.install()
    sb = nuke.menu("Nuke").menu("ShotBridge")
    assert [c[0] for c in sb.commands] == ["Export selected Reads as OTIO...", "Apply results from OTIO..."]
    assert nukescripts.panels.registered[-1][:3] == ("shotbridge_nuke.panel.ShotBridgePanel", "ShotBridge",
                                                      "uk.co.shotbridge.panel")


def test_init_py_has_no_ui_and_menu_py_survives_a_broken_install(nuke, monkeypatch):
    from pathlib import Path

    plugin = Path(__file__).resolve().parents[2] / "plugins" / "nuke"
    import ast

    tree = ast.parse((plugin / "init.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert imported <= {"os", "sys"}, "init.py runs in `nuke -t` and on the farm: no UI imports"
    runpy.run_path(str(plugin / "init.py"))
    import shotbridge_nuke.menu as m

    monkeypatch.setattr(m, "install", lambda: (_ for _ in ()).throw(RuntimeError("no Qt here")))
    runpy.run_path(str(plugin / "menu.py"))
    assert "ShotBridge: menu not installed: no Qt here" in nuke.messages


def test_round_trip_of_cdl_through_apply_and_exchange(nuke):
    _, timeline = _results(nuke)
    assert get_cdl(timeline.find_clips()[0]).saturation == 0.8

