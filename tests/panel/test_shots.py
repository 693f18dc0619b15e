"""Shot rows from real editorial files: timecodes, and the badges ShotBridge's own writes produce."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from shotbridge.exchange import untrusted
from shotbridge.exchange.facts import Facts
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.shots import as_timeline
from shotbridge.exchange.takes import add_take
from shotbridge.panel.host import FileHost
from shotbridge.panel.shots import media_of, shot_rows
from shotbridge.panel.viewmodel import PanelViewModel

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
RT = otio.opentime.RationalTime


def cdl_cut() -> otio.schema.Timeline:
    return as_timeline(untrusted.read(CORPUS / "edl" / "pycmx_cdl_example01.edl").timeline)


def flag_drift(clip: otio.schema.Clip, first: int, last: int) -> None:
    """The finding check_consistency writes (a RED marker in the clip's source time)."""
    start = clip.trimmed_range().start_time
    add_finding(clip, otio.opentime.TimeRange(start + RT(first, start.rate), RT(last - first + 1, start.rate)),
                {"kind": "drift", "expected": "obama", "found": "biden", "frames": [first, last],
                 "similarity": 0.41, "message": "biden instead of obama"})


def test_rows_from_a_real_edl_carry_timecodes_and_cdl():
    rows = shot_rows(cdl_cut())
    assert len(rows) == 39
    first = rows[0]
    assert first.name == "117C-3-B" and first.track == "V1"
    assert first.source_tc == ("13:30:27:13", "13:30:29:01")
    assert first.record_tc == ("02:13:08:12", "02:13:10:00")
    assert first.duration == 36 and first.duration_text == "36 (00:00:01:12)"
    assert [b.kind for b in first.badges] == ["cdl"] and "slope" in first.badges[0].tooltip
    assert first.media is None and "no media" in first.media_note


def test_drift_takes_ai_and_stale_badges():
    cut = cdl_cut()
    clips = list(cut.find_clips())
    flag_drift(clips[0], 4, 9)
    flag_drift(clips[0], 20, 22)
    take = otio.schema.ExternalReference(target_url="/takes/gen_v001.mov")
    add_take(clips[1], take, "gen_v001", Facts(operation="generate_take", provider="comfyui", model="flux",
                                               provenance="urn:c2pa:1", credential_verified=True), activate=True)
    add_take(clips[2], otio.schema.ExternalReference(target_url="/takes/x.mov"), "editor_alt")
    rows = shot_rows(cut)
    drift = rows[0].badges[0]
    assert [(d.start, d.end) for d in rows[0].drift] == [(4, 9), (20, 22)]
    assert drift.kind == "drift" and drift.text == "drift 4-9, 20-22" and "found biden" in drift.tooltip
    kinds = {b.kind: b for b in rows[1].badges}
    assert kinds["takes"].text == "1 take · gen_v001"
    assert kinds["ai"].text == "AI · verified" and "comfyui" in kinds["ai"].tooltip
    assert {b.kind for b in rows[2].badges} == {"cdl", "takes"} and rows[2].active_take is None

    # a recut trims shot 2: the view model flags it stale from the diff
    recut = cut.deepcopy()
    trimmed = list(recut.find_clips())[1]
    r = trimmed.source_range
    trimmed.source_range = otio.opentime.TimeRange(r.start_time + RT(5, r.start_time.rate), r.duration - RT(5, 24))
    vm = PanelViewModel(lambda: None, host=FileHost(recut))
    vm.show_shots(recut)
    vm.compare_with(cut)
    vm._pool.shutdown(wait=True)
    stale = [row for row in vm.state.shots if row.stale]
    assert [row.name for row in stale] == [trimmed.name]
    assert "stale" in {b.kind for b in stale[0].badges} and "gen_v001" in stale[0].stale
    assert "1 shot(s) stale" in vm.state.message


def test_search_and_filter_helpers():
    cut = cdl_cut()
    flag_drift(list(cut.find_clips())[3], 0, 2)
    vm = PanelViewModel(lambda: None)
    vm.show_shots(cut)
    assert [r.name for r in vm.shots_matching(kind="drift")] == [list(cut.find_clips())[3].name]
    assert len(vm.shots_matching("117C")) == len([c for c in cut.find_clips() if "117C" in c.name]) > 1
    assert vm.shots_matching("drift 117") == vm.shots_matching(kind="drift")
    assert vm.shots_matching("no-such-shot") == []


def test_media_of_sequences_and_patterns(tmp_path):
    seq = otio.schema.ImageSequenceReference(target_url_base=f"{tmp_path}/", name_prefix="sh010.",
                                             name_suffix=".exr", start_frame=1001, frame_zero_padding=4, rate=24)
    clip = otio.schema.Clip(name="sh010", media_reference=seq,
                            source_range=otio.opentime.TimeRange(RT(1009, 24), RT(20, 24)))
    assert media_of(clip)[0] == tmp_path / "sh010.1009.exr"
    pattern = otio.schema.ExternalReference(target_url=f"{tmp_path}/frame.%04d.exr")
    clip = otio.schema.Clip(name="p", media_reference=pattern,
                            source_range=otio.opentime.TimeRange(RT(12, 24), RT(5, 24)))
    assert media_of(clip)[:2] == (tmp_path / "frame.0012.exr", 0)
    movie = otio.schema.ExternalReference(target_url="file:///m/a.mov", available_range=otio.opentime.TimeRange(
        RT(86400, 24), RT(100, 24)))
    clip = otio.schema.Clip(name="m", media_reference=movie,
                            source_range=otio.opentime.TimeRange(RT(86410, 24), RT(5, 24)))
    assert media_of(clip)[:2] == (Path("/m/a.mov"), 10)


def test_select_and_seek_reach_the_host():
    calls = []

    class Host(FileHost):
        def select_clips(self, names):
            calls.append(("select", names))

        def show_frame(self, clip, frame):
            calls.append(("frame", clip, frame))
            return f"{clip} at {frame}"

    cut = cdl_cut()
    vm = PanelViewModel(lambda: None, host=Host(cut))
    vm.show_shots(cut)
    names = [vm.state.shots[0].name, vm.state.shots[2].name]
    vm.select_shots(names)
    assert [c.name for c in vm.state.selection.find_clips()] == names
    vm.seek(names[0], 7)
    assert calls == [("select", names), ("frame", names[0], 7)] and vm.state.message == f"{names[0]} at 7"
    plain = PanelViewModel(lambda: None, host=FileHost(cut))
    plain.seek(names[0], 7)
    assert "no playhead" in plain.state.message


def test_a_bare_file_opened_as_a_clip_gives_an_empty_row(tmp_path):
    cut = otio.schema.Timeline(name="bare")
    cut.tracks.append(otio.schema.Track(name="V1"))
    cut.tracks[0].append(otio.schema.Clip(name="reel", media_reference=otio.schema.ExternalReference(
        str(tmp_path / "reel.mp4"))))
    [row] = shot_rows(cut)
    assert (row.name, row.duration, row.media) == ("reel", 0, tmp_path / "reel.mp4")


def test_a_results_findings_reach_the_shown_shots():
    """A check's result timeline (drift markers, a CDL) updates the table's rows whatever the host did with it."""
    from shotbridge.panel.viewmodel import Result

    class ColouringHost(FileHost):  # a host that shows findings its own way and keeps no timeline (Nuke)
        def apply(self, timeline):
            return ["Read1 coloured red"]

    cut = cdl_cut()
    vm = PanelViewModel(lambda: None, host=ColouringHost())
    vm.show_shots(cut)
    vm.select_shots([vm.state.shots[4].name])
    result = cut.deepcopy()
    flag_drift(list(result.find_clips())[4], 2, 5)
    seen = []
    vm.subscribe(seen.append)
    vm._add_results([Result("job1", "consistency.otio", Path("consistency.otio"), timeline=result)])
    assert [(d.start, d.end) for d in vm.state.shots[4].drift] == [(2, 5)] and "shots" in seen
    assert vm.state.selected_shots == [vm.state.shots[4].name] and vm.state.message == "Read1 coloured red"
    seen.clear()
    vm._add_results([Result("job1", "again.otio", Path("again.otio"), timeline=result)])
    assert "shots" not in seen and len(vm.state.shots[4].drift) == 1, "the same finding twice is one finding"
