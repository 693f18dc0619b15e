"""The Nuke adapter against the fake `nuke`: selection out as shots, results in as nodes (once), events
only through Nuke's main thread, menu and start-up files."""

from __future__ import annotations

import ast
import runpy
import threading
from datetime import datetime, timezone
from pathlib import Path

import opentimelineio as otio
import pytest

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.facts import Facts, get_facts
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.takes import add_take, set_active_take
from shotbridge.models import Job, JobStatus
from shotbridge.watcher import JobWatcher

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "nuke"


def test_selected_reads_become_shots(nuke):
    from shotbridge_nuke import host

    nuke.add("Read", "Read2", x=200, selected=True, file="/plates/sh020/sh020.%04d.exr", first=1009, last=1048,
             origfirst=1001, origlast=1100, colorspace="ACES - ACEScg")
    nuke.add("Read", "Read1", x=0, selected=True, file="/plates/sh010.mov", first=1, last=96, origlast=120)
    nuke.add("Read", "Read3", x=300, selected=True, file="/plates/v2/sh030_%d.dpx", first=7, last=9)
    nuke.add("Read", "Ignored", x=100, file="/plates/x.mov")
    nuke.add("Blur", "Blur1", x=50, selected=True)
    timeline = host.selection_to_timeline()
    a, b, c = timeline.find_clips()
    assert (a.name, b.name, c.name) == ("Read1", "Read2", "Read3"), "left to right in the DAG, Reads only"
    assert a.media_reference.target_url == "/plates/sh010.mov"
    assert a.source_range.start_time.value == 0 and a.source_range.duration.to_frames() == 96
    assert a.media_reference.available_range.duration.to_frames() == 120
    seq = b.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    assert (seq.target_url_base, seq.name_prefix, seq.name_suffix) == ("/plates/sh020/", "sh020.", ".exr")
    assert (seq.start_frame, seq.frame_zero_padding) == (1001, 4)
    assert b.source_range.start_time.value == 1009 and b.source_range.duration.to_frames() == 40
    assert seq.frame_for_time(b.source_range.start_time) == 1009, "time is the frame number"
    assert seq.available_range.duration.to_frames() == 100
    assert c.media_reference.frame_zero_padding == 1 and c.media_reference.name_prefix == "sh030_"
    assert b.metadata["nuke"]["colorspace"] == "ACES - ACEScg"
    assert dict(b.metadata["nuke"]["format"]) == {"name": "HD_1080", "width": 1920, "height": 1080,
                                                  "pixel_aspect": 1.0}
    assert (b.metadata["nuke"]["origfirst"], b.metadata["nuke"]["origlast"]) == (1001, 1100)
    assert get_facts(b).id == "Read2:/plates/sh020/sh020.%04d.exr"
    again = host.selection_to_timeline()
    assert [get_facts(x).id for x in again.find_clips()] == [get_facts(x).id for x in (a, b, c)], "stable ids"
    assert timeline.name == "sh010_comp_v001" and timeline.tracks[0][0].source_range.start_time.rate == 24


def test_a_read_path_is_taken_as_nuke_evaluates_it(nuke):
    from shotbridge_nuke import host

    nuke.add("Read", "Read1", selected=True, file="/plates/take \\[v2\\]/a.####.exr", first=1, last=2)
    clip = host.selection_to_timeline().find_clips()[0]
    assert clip.media_reference.target_url_base == "/plates/take [v2]/"
    assert clip.metadata["nuke"]["file"] == "/plates/take \\[v2\\]/a.####.exr", "the knob text is kept too"


def test_nothing_selected_says_what_to_do(nuke):
    from shotbridge_nuke import host

    with pytest.raises(ValueError, match="Select one or more Read nodes"):
        host.selection_to_timeline()
    assert host.NukeHost().selection() is None


def _results(nuke, drift: bool = True):
    from shotbridge_nuke import host

    plate = nuke.add("Read", "Read1", x=0, y=0, selected=True, file="/plates/sh010.####.exr", first=1001,
                     last=1096, label="hero plate")
    timeline = host.selection_to_timeline()
    clip = timeline.find_clips()[0]
    # A generated movie for the shot: its first frame shows the clip's first frame (1001).
    movie_range = otio.opentime.TimeRange(otio.opentime.RationalTime(1001, 24), otio.opentime.RationalTime(96, 24))
    add_take(clip, otio.schema.ExternalReference(target_url="/gen/sh010 [ext]_v001.mov", available_range=movie_range),
             "gen_v001", facts=Facts(operation="extend_shot"))
    matte = otio.schema.ImageSequenceReference(target_url_base="/gen/", name_prefix="sh010_matte.",
                                               name_suffix=".exr", start_frame=1001, frame_zero_padding=4,
                                               rate=24, available_range=movie_range)
    add_take(clip, matte, "matte_v001", facts=Facts.model_validate({"operation": "segment", "kind": "matte"}))
    set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9), saturation=0.8))
    if drift:
        add_finding(clip, otio.opentime.TimeRange(otio.opentime.RationalTime(1030, 24),
                                                  otio.opentime.RationalTime(18, 24)),
                    {"kind": "drift", "expected": "obama", "found": "kit_harington", "frames": [1030, 1047]})
    return plate, timeline


def tagged(nuke) -> dict[str, object]:
    return {n["shotbridge_tag"].value(): n for n in nuke.allNodes() if n.knob("shotbridge_tag")}


def test_results_become_nodes(nuke):
    from shotbridge_nuke.apply import apply_timeline

    plate, timeline = _results(nuke)
    done = apply_timeline(timeline)
    assert any("take gen_v001" in d for d in done) and any("matte matte_v001" in d for d in done)
    nodes = tagged(nuke)
    take, backdrop = nodes["take:gen_v001@Read1"], nodes["take-backdrop:gen_v001@Read1"]
    assert take.Class() == "Read" and take["file"].value() == "/gen/sh010 \\[ext\\]_v001.mov", \
        "brackets escaped: Nuke's file knob would run [ext] as a TCL command"
    assert nuke.filename(take) == "/gen/sh010 [ext]_v001.mov"
    assert (take["first"].value(), take["last"].value()) == (1, 96), "a movie's frames count from 1"
    assert (matte_read := tagged(nuke)["matte:matte_v001@Read1"])["first"].value() == 1001 and \
        matte_read["last"].value() == 1096, "a sequence keeps the plate's frame numbers"
    assert take.xpos() > plate.xpos() and take.input(0) is None, "beside the plate, not wired into it"
    assert backdrop.Class() == "BackdropNode" and backdrop["label"].value() == "extend_shot v001\ngen_v001"
    assert backdrop.xpos() <= take.xpos() and backdrop.ypos() <= take.ypos() and \
        take.xpos() + 80 <= backdrop.xpos() + backdrop["bdwidth"].value(), "the take sits inside its backdrop"
    cdl = nodes["cdl@Read1"]
    assert cdl.Class() == "OCIOCDLTransform" and cdl.input(0) is plate and cdl.ypos() > plate.ypos()
    assert cdl["slope"].value() == [1.1, 1.0, 0.9] and cdl["power"].value() == [1.0, 1.0, 1.0]
    assert cdl["saturation"].value() == 0.8
    matte, copy = nodes["matte:matte_v001@Read1"], nodes["matte-copy:matte_v001@Read1"]
    assert matte["file"].value() == "/gen/sh010_matte.####.exr"
    assert copy.Class() == "Copy" and copy.input(0) is cdl and copy.input(1) is matte, "B: graded plate, A: matte"
    assert (copy["from0"].value(), copy["to0"].value()) == ("rgba.red", "rgba.alpha")
    assert plate["tile_color"].value() == 0xFF0000FF
    assert plate["label"].value() == "hero plate\nShotBridge drift: kit_harington instead of obama, frames 1030-1047"
    assert nuke.Undo.log == ["begin ShotBridge: apply results", "end"], "one undo step"


def test_applying_again_changes_nothing_and_keeps_the_artists_edits(nuke):
    from shotbridge_nuke.apply import apply_timeline

    plate, timeline = _results(nuke)
    apply_timeline(timeline)
    before = {name: (n.Class(), n.xpos(), n.ypos()) for name, n in nuke._nodes.items()}
    take = tagged(nuke)["take:gen_v001@Read1"]
    take.setName("my_extension")
    take.setXYpos(900, 40)
    apply_timeline(timeline)
    assert len(nuke.allNodes()) == len(before), "applying twice adds nothing"
    assert take.name() == "my_extension" and (take.xpos(), take.ypos()) == (900, 40), "found by tag, not moved"
    assert plate["label"].value().count("ShotBridge drift") == 1, "drift lines replaced, not stacked"


def test_the_accepted_take_shows_on_its_backdrop(nuke):
    from shotbridge_nuke.apply import ACCEPTED, BACKDROP, apply_timeline

    _, timeline = _results(nuke, drift=False)
    set_active_take(timeline.find_clips()[0], "gen_v001")
    done = apply_timeline(timeline)
    backdrop = tagged(nuke)["take-backdrop:gen_v001@Read1"]
    assert backdrop["tile_color"].value() == ACCEPTED and backdrop["label"].value().endswith("\naccepted")
    assert any("(accepted)" in d for d in done)
    set_active_take(timeline.find_clips()[0], "DEFAULT_MEDIA")
    apply_timeline(timeline)
    assert backdrop["tile_color"].value() == BACKDROP and "accepted" not in backdrop["label"].value()


def test_drift_marks_stay_until_cleared(nuke):
    from shotbridge_nuke.apply import apply_timeline, clear_drift

    plate, timeline = _results(nuke)
    apply_timeline(timeline)
    _, later = _results(nuke, drift=False)  # a take result is no verdict on drift
    nuke.toNode("Read1")  # the same Read
    apply_timeline(later)
    assert plate["tile_color"].value() == 0xFF0000FF
    assert clear_drift(plate) and plate["label"].value() == "hero plate" and plate["tile_color"].value() == 0
    assert not clear_drift(plate)


def test_results_from_another_host_find_the_read_by_its_file(nuke):
    from shotbridge_nuke.apply import apply_timeline

    plate = nuke.add("Read", "Plate_sh010", file="/plates/sh010.%04d.exr", first=1001, last=1010)
    seq = otio.schema.ImageSequenceReference(target_url_base="file:///plates/", name_prefix="sh010.",
                                             name_suffix=".exr", start_frame=1001, frame_zero_padding=4, rate=24)
    clip = otio.schema.Clip(name="sh010", media_reference=seq, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(10, 24)))
    set_cdl(clip, CDL(slope=(1.2, 1.2, 1.2)))
    done = apply_timeline(otio.schema.Timeline(tracks=[otio.schema.Track(children=[clip])]))
    assert tagged(nuke)["cdl@Plate_sh010"].input(0) is plate, done


def test_results_for_a_missing_read_are_reported_not_raised(nuke):
    from shotbridge_nuke.apply import apply_timeline

    _, timeline = _results(nuke)
    nuke.reset()
    assert apply_timeline(timeline) == [
        "Read1: no Read node 'Read1' (or one reading its plate) in this script; skipped"]


# -- threads -------------------------------------------------------------------------------------------


def test_results_reach_nuke_only_through_execute_in_main_thread(nuke):
    from shotbridge_nuke.apply import apply_timeline
    from shotbridge_nuke.dispatch import main_thread_dispatcher

    _, timeline = _results(nuke)
    ran_on = []

    def apply_result(tl):
        ran_on.append(threading.current_thread().name)
        apply_timeline(tl)

    worker = threading.Thread(target=main_thread_dispatcher, args=(apply_result, timeline), name="sb-watch")
    worker.start()
    worker.join()
    assert nuke.main_thread_calls == ["apply_result"] and not tagged(nuke), "queued, not run on the worker"
    assert nuke.run_main_thread() == 1
    assert ran_on == [threading.current_thread().name] and "cdl@Read1" in tagged(nuke)


def test_the_fake_refuses_node_work_off_the_main_thread(nuke):
    """So the test above proves something: a worker touching nodes directly fails."""
    from shotbridge_nuke.apply import apply_timeline

    _, timeline = _results(nuke)
    errors = []

    def worker():
        try:
            apply_timeline(timeline)
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=worker, name="rogue")
    t.start()
    t.join()
    assert errors and "main thread" in errors[0] and not tagged(nuke)


class _Client:
    """The job watcher's view of the backend: one finished job carrying a result timeline."""

    def __init__(self, timeline):
        self.timeline = timeline

    def events(self, job_id):
        now = datetime.now(timezone.utc)
        yield Job(id=job_id, project_id="p", operation="extend_shot", params={}, provider="local",
                  status=JobStatus.running, progress=0.5, created_at=now)
        yield Job(id=job_id, project_id="p", operation="extend_shot", params={}, provider="local",
                  status=JobStatus.succeeded, progress=1.0, created_at=now, result={"ok": True})


def test_a_job_watcher_in_nuke_applies_results_on_the_main_thread(nuke):
    from shotbridge_nuke.apply import apply_timeline
    from shotbridge_nuke.dispatch import main_thread_dispatcher

    _, timeline = _results(nuke)
    seen = []

    def on_event(job):
        seen.append((job.status.value, threading.current_thread() is threading.main_thread()))
        if job.status == JobStatus.succeeded:
            apply_timeline(timeline)

    watcher = JobWatcher(_Client(timeline), dispatch=main_thread_dispatcher)
    watcher.watch("j1", on_event)
    watcher.join(5)
    assert nuke.pending_main_thread() == 2 and not seen, "the watcher's thread only queued"
    nuke.run_main_thread()
    assert seen == [("running", True), ("succeeded", True)] and "take:gen_v001@Read1" in tagged(nuke)


# -- menu, panel, start-up -----------------------------------------------------------------------------


def test_menu_and_panel_registration(nuke, monkeypatch):
    import nukescripts

    from shotbridge_nuke import menu

    monkeypatch.setattr(menu, "qt_available", lambda: True)  # registering imports no Qt (the 3.10 run has none)
    menu.install()
    sb = nuke.menu("Nuke").menu("ShotBridge")
    assert [c[0] for c in sb.commands if c[0] != "-"] == [
        "Export selected Reads as OTIO...", "Apply results from OTIO...", "Clear drift marks on selected Reads"]
    assert nukescripts.panels.registered[-1] == ("shotbridge_nuke.panel.ShotBridgePanel", "ShotBridge",
                                                 "uk.co.shotbridge.panel", True)


def test_without_qtpy_the_menu_works_and_says_why_there_is_no_panel(nuke, monkeypatch):
    import nukescripts

    from shotbridge_nuke import commands, menu

    monkeypatch.setattr(menu, "qt_available", lambda: False)
    count = len(nukescripts.panels.registered)
    menu.install()
    assert len(nukescripts.panels.registered) == count, "no panel registered without Qt"
    item = [c for c in nuke.menu("Nuke").menu("ShotBridge").commands if "needs qtpy" in c[0]]
    assert item and "qtpy is not importable" in nuke.messages[-1]
    exec(item[0][1], {})  # as Nuke runs a menu script: in a namespace of its own
    assert "needs the qtpy package" in nuke.messages[-1]
    assert commands.explain_missing_qt is not None


def test_menu_commands(nuke, tmp_path, monkeypatch):
    from shotbridge_nuke import commands, menu

    monkeypatch.setattr(menu, "qt_available", lambda: True)
    menu.install()
    scripts = {c[0]: c[1] for c in nuke.menu("Nuke").menu("ShotBridge").commands if len(c) > 1}
    exec(scripts["Export selected Reads as OTIO..."], {})  # menu scripts run in a namespace of their own
    assert nuke.messages[-1] == "Select one or more Read nodes first."
    nuke.add("Read", "Read1", selected=True, file="/plates/sh010.mov", first=1, last=24, label="x")
    nuke.filenames.append(str(tmp_path / "shots.otio"))
    commands.export_selection()
    timeline = otio.adapters.read_from_file(str(tmp_path / "shots.otio"))
    set_cdl(timeline.find_clips()[0], CDL(slope=(2, 2, 2)))
    otio.adapters.write_to_file(timeline, str(tmp_path / "result.otio"))
    nuke.filenames.append(str(tmp_path / "result.otio"))
    commands.apply_from_file()
    assert "CDL as SB_Read1_CDL" in nuke.messages[-1]
    commands.clear_drift_marks()
    assert nuke.messages[-1] == "No selected Read is marked."


def test_init_py_only_sets_paths_and_menu_py_survives_a_broken_install(nuke, monkeypatch, tmp_path):
    tree = ast.parse((PLUGIN / "init.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert imported <= {"os", "sys"}, "init.py runs in `nuke -t` and on the farm: no UI, not even nuke"
    monkeypatch.setenv("SHOTBRIDGE_PYTHONPATH", str(tmp_path))
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    runpy.run_path(str(PLUGIN / "init.py"))
    import sys

    assert str(tmp_path) in sys.path and str(PLUGIN) in sys.path
    code = compile((PLUGIN / "init.py").read_text(), "init.py", "exec")
    exec(code, {"__name__": "init"})  # some Nukes run init.py without __file__: must not raise
    import shotbridge_nuke.menu as m

    monkeypatch.setattr(m, "install", lambda: (_ for _ in ()).throw(RuntimeError("no Qt here")))
    runpy.run_path(str(PLUGIN / "menu.py"))
    assert "ShotBridge: menu not installed: no Qt here" in nuke.messages


def test_the_nuke_host_fits_the_panels_host_protocol(nuke):
    from shotbridge.panel.host import Host
    from shotbridge_nuke.host import NukeHost

    host: Host = NukeHost()
    _, timeline = _results(nuke)
    assert host.name == "nuke" and [c.name for c in host.selection().find_clips()] == ["Read1"]
    assert any("CDL" in line for line in host.apply(timeline))
