"""Selection out as OTIO shots: the four selection modes, Resolve's own OTIO export (18.5+) and the timeline
built from the API (before 18.5) giving the same shots, and what the editor is told when nothing matches."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from shotbridge.exchange.shots import extract_shots
from shotbridge_resolve.host import ResolveHost, selection_to_timeline
from shotbridge_resolve.selection import Selection
from shotbridge_resolve.session import ResolveSession, ResolveStateError


def shots(timeline) -> list[dict]:
    return [s.model_dump() for s in extract_shots(timeline)]


def names(timeline) -> list[str]:
    return [c.name for c in timeline.find_clips()]


def test_playhead_picks_the_clips_under_it_on_every_video_track(edit):
    host = ResolveHost(edit.resolve)
    timeline = host.selection()
    assert names(timeline) == ["A001_C002.mov", "B001_C004.mov"], host.message
    a = edit.clip_named(timeline, "A001_C002.mov")
    assert a.metadata["resolve"]["item_id"] == edit.sh010.GetUniqueId()
    assert a.metadata["resolve"]["track"] == 1 and a.metadata["resolve"]["record_start"] == 86400
    assert a.metadata["shotbridge"]["id"] == f"resolve:{edit.sh010.GetUniqueId()}"
    assert "2 clip(s) from clips under the playhead" in host.message


def test_unchosen_clips_become_gaps_so_record_frames_stay_true(edit):
    timeline = ResolveHost(edit.resolve).selection()
    (v1, v2) = timeline.video_tracks()
    assert [type(c).__name__ for c in v1] == ["Clip", "Gap", "Gap", "Gap"], "sh020, the gap, sh030 stay as gaps"
    assert v1.duration().to_frames() == 136 and timeline.audio_tracks() == [], "audio stays home"
    bg = [s for s in extract_shots(timeline) if s.name == "B001_C004.mov"][0]
    assert (bg.record_start, bg.record_end) == (10, 70), "10 frames after the timeline's first frame"


def test_playhead_falls_back_to_the_current_video_item(edit, monkeypatch):
    # Resolve only reports the playhead's timecode on the Cut, Edit, Color, Fairlight and Deliver pages.
    monkeypatch.setattr(type(edit.timeline), "GetCurrentTimecode", lambda self: "")
    timeline, _ = selection_to_timeline(ResolveSession(edit.resolve), Selection("playhead"))
    assert "Timeline.GetCurrentVideoItem" in edit.fake.calls("Timeline.")
    assert [c.name for c in timeline.find_clips() if "resolve" in c.metadata] == ["B001_C004.mov"], \
        "the topmost item under the playhead"


def test_marker_colour_picks_clip_markers_and_clips_under_timeline_markers(edit):
    edit.sh020.AddMarker(15, "Green", "fix", "", 1, "")
    edit.timeline.AddMarker(100, "Green", "look here", "", 5, "")  # frame 100 of the timeline = 86500: sh030
    edit.sh010.AddMarker(120, "Blue", "other colour", "", 1, "")
    host = ResolveHost(edit.resolve, Selection("marker", color="Green"))
    assert names(host.selection()) == ["A002_C001.mov", "sh030_plate.[1001-1100].exr"]
    host.mode = Selection("marker", color="Purple")
    assert host.selection() is None
    assert "No clip with media matches clips with a Purple marker" in host.message
    assert "Put a Purple marker on the clips" in host.message


def test_a_track_picks_all_its_clips(edit):
    host = ResolveHost(edit.resolve, Selection("track", track=1))
    assert names(host.selection()) == ["A001_C002.mov", "A002_C001.mov", "sh030_plate.[1001-1100].exr"]
    host.mode = Selection("track", track=7)
    assert host.selection() is None
    assert "has 2 video track(s); there is no video track 7" in host.message


def test_media_pool_clips_are_taken_whole(edit):
    edit.pool._selected = [edit.mpis["c"], edit.mpis["seq"]]
    timeline = ResolveHost(edit.resolve, Selection("media_pool")).selection()
    movie, seq = timeline.find_clips()
    assert movie.media_reference.target_url == edit.paths["B001_C004.mov"]
    assert movie.source_range.duration.to_frames() == 400 and movie.source_range.start_time.value == 0
    assert isinstance(seq.media_reference, otio.schema.ImageSequenceReference)
    assert (seq.media_reference.start_frame, seq.media_reference.frame_zero_padding) == (1001, 4)
    edit.pool._selected = []
    host = ResolveHost(edit.resolve, Selection("media_pool"))
    assert host.selection() is None and "No media pool clip with a file is selected" in host.message


def test_nothing_open_says_what_to_do(fake):
    resolve = fake.new_resolve(timeline=None)
    host = ResolveHost(resolve)
    assert host.selection() is None and "no current timeline: open one on the Edit page" in host.message
    resolve._pm._project = None
    assert host.selection() is None and "No project is open" in host.message


def test_under_the_playhead_nothing_says_move_it(edit):
    edit.timeline._playhead = 86490  # the gap on V1, past the V2 clip
    host = ResolveHost(edit.resolve)
    assert host.selection() is None and "Move the playhead over a clip" in host.message


# -- Resolve's OTIO export and the API path agree ------------------------------------------------------


def test_the_otio_export_and_the_api_give_the_same_shots(edit):
    session = ResolveSession(edit.resolve)
    edit.sh010.AddMarker(110, "Red", "check face", "", 3, "")
    everything = Selection("track", track=1)
    exported, warnings = selection_to_timeline(session, everything)
    assert not warnings and edit.fake.calls("Timeline.Export"), "Resolve 19 exports OTIO itself"
    assert "Resolve_OTIO" in exported.metadata, "read from Resolve's file"
    edit.resolve._version = [18, 1, 4, 6, ""]  # before 18.5: no EXPORT_OTIO (the fake raises if touched)
    edit.fake.CALLS.clear()
    built, warnings = selection_to_timeline(session, everything)
    assert not warnings and not edit.fake.calls("Timeline.Export")
    assert "Resolve_OTIO" not in built.metadata
    assert shots(exported) == shots(built)
    got = {s["name"]: s for s in shots(built)}
    a = got["A001_C002.mov"]
    assert (a["source_start"], a["source_end"], a["record_start"], a["record_end"]) == (100, 148, 0, 48)
    assert a["markers"] == ["check face"] and a["media"] == edit.paths["A001_C002.mov"]
    seq = got["sh030_plate.[1001-1100].exr"]
    assert seq["media"].endswith("sh030/sh030_plate.####.exr") and (seq["source_start"], seq["record_start"]) == (8, 96)
    assert exported.global_start_time == built.global_start_time == otio.opentime.RationalTime(86400, 24)
    for timeline in (exported, built):  # the same item ids either way: the way back for results
        assert [c.metadata["resolve"]["item_id"] for c in timeline.find_clips() if "resolve" in c.metadata] == \
            [edit.sh010.GetUniqueId(), edit.sh020.GetUniqueId(), edit.sh030.GetUniqueId()]


def test_a_sequence_frame_maps_to_the_same_file_either_way(edit):
    session = ResolveSession(edit.resolve)
    exported, _ = selection_to_timeline(session, Selection("track", track=1))
    edit.resolve._version = [17, 4, 6, 4, ""]
    built, _ = selection_to_timeline(session, Selection("track", track=1))
    for timeline in (exported, built):
        clip = edit.clip_named(timeline, "sh030_plate.[1001-1100].exr")
        ref = clip.media_reference
        assert ref.target_url_for_image_number(ref.number_of_images_in_sequence() - 1).endswith("sh030_plate.1100.exr")
        assert ref.frame_for_time(clip.source_range.start_time) == 1009, "left offset 8 into a sequence from 1001"


def test_an_unreadable_export_falls_back_to_the_api_and_says_so(edit, monkeypatch):
    monkeypatch.setattr(type(edit.timeline), "Export", lambda self, fileName, exportType, exportSubtype: False)
    timeline, warnings = selection_to_timeline(ResolveSession(edit.resolve), Selection("track", track=1))
    assert len(list(timeline.find_clips())) == 3
    assert warnings and "read through the scripting API instead" in warnings[0]


@pytest.mark.parametrize("text, rate", [("24", 24.0), ("23.976", 24000 / 1001), ("29.97 DF", 30000 / 1001),
                                        ("59.94 NDF", 60000 / 1001), ("25.000", 25.0)])
def test_timeline_rates_as_resolve_names_them(text, rate):
    from shotbridge_resolve.timebase import parse_rate

    assert parse_rate(text) == pytest.approx(rate, abs=1e-9)


def test_a_rate_resolve_should_not_report_is_refused_clearly():
    from shotbridge_resolve.timebase import TimebaseError, parse_rate

    with pytest.raises(TimebaseError, match="not a number"):
        parse_rate("fast")
    with pytest.raises(TimebaseError, match="Project Settings"):
        parse_rate("")


def test_versions_come_from_get_version_or_the_version_string(fake, monkeypatch):
    from shotbridge_resolve.timebase import exports_otio, version

    resolve = fake.new_resolve(version=(18, 5, 0, 41, ""))
    assert version(resolve) == (18, 5) and exports_otio(resolve)
    monkeypatch.setattr(type(resolve), "GetVersion", lambda self: None)
    resolve._version = [18, 1, 4, 6, ""]
    assert version(resolve) == (18, 1) and not exports_otio(resolve), "from GetVersionString '18.1.4.6'"


def test_session_refuses_what_resolve_does_not_have(fake):
    session = ResolveSession(fake.new_resolve(timeline=None))
    with pytest.raises(ResolveStateError, match="open one on the Edit page"):
        session.timeline()
