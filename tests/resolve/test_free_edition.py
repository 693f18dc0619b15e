"""Resolve's free edition (no scripting since 21.1): export from File > Export, work on the file in the
standalone panel (`shotbridge panel FILE`), save a file to import back. Checked on Resolve's own FCP7 XML
exports (../shared/corpus/fcp7xml, see its MANIFEST.md) and on an EDL in the layout Resolve writes (the
corpus holds no Resolve EDL; the fake writes one as Resolve does: AX reels, FROM CLIP NAME comments): results
land on their own cut though Resolve names every cut of a file alike, an EDL that cannot tell its rate is asked
for it, and an EDL written back keeps the timeline's start timecode."""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio
import pytest

from shotbridge.exchange import io
from shotbridge.exchange.cdl import CDL, get_cdl, set_cdl
from shotbridge.exchange.shots import as_timeline, extract_shots
from shotbridge.panel.host import FileHost

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
RESOLVE_XML = ["losslesscut_Final_Cut_Pro_XMEML_2.xml", "losslesscut_Final_Cut_Pro_XMEML_3.xml"]


def corpus(name: str) -> Path:
    path = CORPUS / "fcp7xml" / name
    if not path.exists():
        pytest.skip("../shared/corpus is not beside the checkout")
    assert "DaVinci Resolve" in next(line for line in (CORPUS / "MANIFEST.md").read_text().splitlines()
                                     if name in line), "the manifest says Resolve wrote it"
    return path


def video_shots(timeline) -> list[dict]:
    return [s.model_dump(exclude={"index"}) for s in extract_shots(timeline)]


@pytest.mark.parametrize("name", RESOLVE_XML)
def test_a_resolve_xml_opens_and_saves_as_otio_without_losing_shots(name, tmp_path):
    read = io.read(corpus(name))
    assert not read.warnings
    host = FileHost(as_timeline(read.timeline))  # what `shotbridge panel FILE` holds
    before = video_shots(host.timeline)
    assert before and all(s["media"] for s in before), "FCP7 XML carries each clip's file"
    out = tmp_path / "for_resolve.otio"  # Resolve 18.5+ imports OTIO (File > Import > Timeline)
    assert io.write(host.timeline, out) == []
    again = io.read(out).timeline
    assert video_shots(again) == before
    assert again.global_start_time == host.timeline.global_start_time


def test_a_resolve_xml_with_one_audio_pair_saves_as_an_edl_with_its_cuts(tmp_path):
    timeline = as_timeline(io.read(corpus("losslesscut_Final_Cut_Pro_XMEML_2.xml")).timeline)
    notes = io.write(timeline, tmp_path / "back.edl")
    assert any("not written" in n for n in notes), "the EDL's limits are reported"
    first = [s for s in video_shots(timeline) if s["track"] == timeline.video_tracks()[0].name]
    edl = video_shots(io.read(tmp_path / "back.edl", rate=60).timeline)
    assert [(s["source_start"], s["source_end"]) for s in edl] == [(s["source_start"], s["source_end"]) for s in first]
    assert [s["record_end"] - s["record_start"] for s in edl] == [s["record_end"] - s["record_start"] for s in first]


def test_a_resolve_xml_with_many_audio_tracks_goes_to_edl_with_the_loss_named(tmp_path):
    timeline = as_timeline(io.read(corpus("losslesscut_Final_Cut_Pro_XMEML_3.xml")).timeline)
    warnings = io.write(timeline, tmp_path / "back.edl")
    assert any("audio tracks are not written" in w for w in warnings), warnings
    back = io.read(tmp_path / "back.edl", rate=timeline.duration().rate).timeline
    assert len(list(back.video_tracks()[0].find_clips())) == len(list(timeline.video_tracks()[0].find_clips()))


def test_each_cuts_result_lands_on_that_cut_in_a_resolve_xml():
    host = FileHost(as_timeline(io.read(corpus("losslesscut_Final_Cut_Pro_XMEML_2.xml")).timeline))
    result = host.timeline.deepcopy()
    for n, clip in enumerate(result.find_clips()):
        set_cdl(clip, CDL(slope=(1 + n / 100, 1.0, 1.0)))  # a different look per cut
    host.apply(result)
    assert [get_cdl(c) and get_cdl(c).slope[0] for c in host.timeline.find_clips()] == \
        [1 + n / 100 for n in range(len(list(result.find_clips())))]


# -- an EDL as Resolve writes it -----------------------------------------------------------------------


@pytest.fixture
def resolve_edl(edit, tmp_path) -> Path:
    """Timeline.Export(path, EXPORT_EDL, EXPORT_NONE): the File > Export > Timeline > EDL output."""
    path = tmp_path / "Edit v3.edl"
    assert edit.timeline.Export(str(path), edit.resolve.EXPORT_EDL, edit.resolve.EXPORT_NONE)
    text = path.read_text()
    assert text.startswith("TITLE: Edit v3\nFCM: NON-DROP FRAME\n") and "* FROM CLIP NAME: A001_C002.mov" in text
    return path


def test_a_resolve_edl_converted_with_its_rate_opens_and_saves(resolve_edl, edit, tmp_path):
    from shotbridge.exchange.cli import main as timeline_cli

    otio_path = tmp_path / "edit.otio"
    assert timeline_cli(["timeline", "convert", str(resolve_edl), str(otio_path), "--rate", "24"]) == 0
    shots = video_shots(io.read(otio_path).timeline)
    items = sorted(edit.timeline._tracks[0]["items"], key=lambda i: i._start)
    assert [s["name"] for s in shots] == [i._name for i in items]
    assert [(s["source_start"], s["source_end"]) for s in shots] == [(i._left, i._left + i._duration) for i in items]
    assert [s["record_start"] for s in shots] == [i._start - items[0]._start for i in items], "the gap is kept"
    host = FileHost(as_timeline(io.read(otio_path).timeline))
    result = host.timeline.deepcopy()
    set_cdl(list(result.find_clips())[1], CDL(slope=(1.1, 1.0, 0.9), saturation=0.8))  # a job's look for one cut
    assert host.apply(result) == ["A002_C001.mov: CDL"]
    back = tmp_path / "for_resolve.edl"  # File > Import > Timeline in Resolve
    io.write(host.timeline, back, rate=24)
    reread = io.read(back, rate=24).timeline
    assert [(s["source_start"], s["record_start"]) for s in video_shots(reread)] == \
        [(s["source_start"], s["record_start"]) for s in shots]
    assert [get_cdl(c) and get_cdl(c).slope for c in reread.find_clips()] == [None, (1.1, 1.0, 0.9), None], \
        "the look travels as ASC_SOP"


def test_the_standalone_window_opens_a_resolve_xml(qtbot_or_skip, tmp_path):
    from shotbridge.panel.app import PanelWindow
    from shotbridge.panel.viewmodel import PanelViewModel

    path = corpus("losslesscut_Final_Cut_Pro_XMEML_3.xml")
    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    window = PanelWindow(vm, path)
    qtbot_or_skip.addWidget(window)
    assert len(list(window.host.timeline.find_clips())) == 36  # 5 video + 8 audio tracks
    video = [c for t in window.host.timeline.video_tracks() for c in t.find_clips()]
    assert window.shots.count() == len(video) > 0, "the shot table lists the video clips"
    assert vm.state.selection is window.host.timeline
    vm.close()


def test_the_standalone_window_asks_for_the_rate_a_resolve_edl_does_not_tell(qtbot_or_skip, resolve_edl,
                                                                             monkeypatch, tmp_path):
    from qtpy import QtWidgets

    from shotbridge.panel.app import PanelWindow
    from shotbridge.panel.viewmodel import PanelViewModel

    refused, asked = [], []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *args: refused.append(args[2]))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getItem", lambda *args: asked.append(args[2]) or ("24", True))
    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    window = PanelWindow(vm, resolve_edl)
    qtbot_or_skip.addWidget(window)
    assert not refused and window.shots.count() == 3, refused
    assert "rate" in asked[0] and window.rate == 24
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a: (str(tmp_path / "back.edl"), ""))
    window.save_dialog()  # saved at the rate the editor gave
    assert io.read(tmp_path / "back.edl", 24).timeline.global_start_time == otio.opentime.RationalTime(86400, 24)
    (tmp_path / "a_file").write_text("")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a: (str(tmp_path / "a_file" / "x.edl"), ""))
    window.save_dialog()
    assert refused and refused[-1].startswith("Not saved:")  # a failed save is said, not raised
    given = PanelWindow(vm, resolve_edl, rate=24)  # `shotbridge panel X.edl --rate 24` asks nothing
    qtbot_or_skip.addWidget(given)
    assert given.shots.count() == 3 and len(asked) == 1
    vm.close()


def test_an_edl_written_back_keeps_the_timelines_start_timecode(tmp_path):
    timeline = as_timeline(io.read(corpus("losslesscut_Final_Cut_Pro_XMEML_2.xml")).timeline)
    io.write(timeline, tmp_path / "back.edl")
    first_event = next(line for line in (tmp_path / "back.edl").read_text().splitlines() if line[:3].isdigit())
    record_in = first_event.split()[-2]
    assert record_in == otio.opentime.to_timecode(timeline.global_start_time + otio.opentime.RationalTime(306, 60), 60)
    back = io.read(tmp_path / "back.edl", rate=60).timeline  # and reading it keeps the record timecodes

    def record_starts(t):  # an EDL has no leading gap: compare where clips sit in timecode
        return [t.global_start_time + c.range_in_parent().start_time for c in t.find_clips()
                if c.parent().kind == otio.schema.TrackKind.Video]

    assert record_starts(back) == record_starts(timeline)


@pytest.fixture
def qtbot_or_skip(request):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pytest.importorskip("pytestqt")
    pytest.importorskip("qtpy")
    return request.getfixturevalue("qtbot")
