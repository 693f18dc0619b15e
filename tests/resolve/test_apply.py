"""Results into Resolve: drift findings as Red markers (job id in customData), CDLs in a colour version of
their own, takes in a bin and on a track above the source (disabled unless accepted), a colour version per
take, and applying the same result twice changing nothing."""

from __future__ import annotations

import json

import opentimelineio as otio

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.facts import Facts
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.takes import add_take, set_active_take
from shotbridge_resolve.apply import TAKES_BIN, apply_result, clear_findings
from shotbridge_resolve.host import ResolveHost
from shotbridge_resolve.items import video_items
from shotbridge_resolve.selection import Selection


def rt(v, rate=24):
    return otio.opentime.RationalTime(v, rate)


def result_for(edit, tmp_path, drift=True, cdl=True, take=True):
    """What a job hands back for the chosen clips: the selection OTIO, annotated."""
    host = ResolveHost(edit.resolve, Selection("track", track=1))
    timeline = host.selection()
    clip = edit.clip_named(timeline, "A001_C002.mov")  # media frames 100-147
    if drift:
        add_finding(clip, otio.opentime.TimeRange(rt(130), rt(12)),
                    {"kind": "drift", "job_id": "job-7f3a", "expected": "obama", "found": "kit_harington",
                     "frames": [130, 141]}, name="drift: kit_harington instead of obama")
    if cdl:
        set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0.0, -0.01), saturation=0.8))
    if take:
        gen = tmp_path / "gen" / "sh010_extend_v001.mov"
        gen.parent.mkdir(parents=True, exist_ok=True)
        gen.write_bytes(b"\0")
        edit.fake.register_media(str(gen), 48)
        # The take shares the clip's time: its first frame shows at the clip's first frame (100).
        add_take(clip, otio.schema.ExternalReference(target_url=str(gen), available_range=otio.opentime.TimeRange(
            rt(100), rt(48))), "gen_v001", facts=Facts(operation="extend_shot"))
    return host, timeline


def snapshot(edit) -> dict:
    """Everything in the fake Resolve an apply could change."""
    def folder(f):
        return {"name": f._name, "clips": [c._props["File Path"] for c in f._clips],
                "sub": [folder(s) for s in f._subfolders]}

    return {
        "bins": folder(edit.pool._root), "current_folder": edit.pool._current._name,
        "current_timeline": edit.project._current._name, "timelines": [t._name for t in edit.project._timelines],
        "tracks": [(t["name"], [(i._name, i._start, i._duration, i._left, i._enabled,
                                 {f: dict(m) for f, m in i._markers.items()},
                                 {k: json.dumps(v, sort_keys=True) for k, v in i._versions.items()}, i._version)
                                for i in t["items"]]) for t in edit.timeline._tracks],
    }


def test_results_become_markers_a_look_and_takes(edit, tmp_path):
    host, result = result_for(edit, tmp_path)
    done = host.apply(result)
    marker = edit.sh010._markers[130.0]  # media frame 130 of A001, where the finding starts
    assert marker["color"] == "Red" and marker["duration"] == 12 and marker["name"].startswith("drift:")
    assert marker["note"] == "kit_harington instead of obama, frames 130-141"
    data = json.loads(marker["customData"])
    assert data["job_id"] == "job-7f3a" and data["kind"] == "drift" and data["shotbridge"] == 1
    # The look sits in its own version, loaded; the colourist's Version 1 is untouched.
    look = [v for v in edit.sh010._versions if v.startswith("ShotBridge look ")]
    assert len(look) == 1 and edit.sh010._version == look[0]
    assert edit.sh010._versions[look[0]]["cdl"] == {"Slope": [1.1, 1.0, 0.9], "Offset": [0.01, 0.0, -0.01],
                                                    "Power": [1.0, 1.0, 1.0], "Saturation": [0.8]}
    assert edit.sh010._versions["Version 1"]["cdl"] is None
    assert "ShotBridge gen_v001" in edit.sh010._versions, "a colour version per take to grade against"
    # The take: in the bin, on its own track above the source, same record frames, disabled.
    bin_ = next(f for f in edit.pool._root._subfolders if f._name == TAKES_BIN)
    assert [c._props["File Name"] for c in bin_._clips] == ["sh010_extend_v001.mov"]
    assert edit.pool._current is edit.pool._root, "the editor's current bin is restored"
    track = edit.timeline._tracks[2]
    assert track["name"] == "ShotBridge takes 1"
    (placed,) = track["items"]
    assert (placed._start, placed._duration, placed._left) == (86400, 48, 0) and not placed._enabled
    assert placed._mpi is bin_._clips[0]
    assert any("take gen_v001 placed on video track 3" in line for line in done), done
    assert any("Red marker" in line for line in done) and any("CDL in colour version" in line for line in done)


def test_applying_the_same_result_twice_changes_nothing(edit, tmp_path):
    host, result = result_for(edit, tmp_path)
    host.apply(result)
    before = snapshot(edit)
    calls = len(edit.fake.CALLS)
    again = host.apply(result)
    assert snapshot(edit) == before
    changing = {"TimelineItem.AddMarker", "TimelineItem.AddVersion", "TimelineItem.SetCDL", "MediaPool.AddSubFolder",
                "MediaPool.ImportMedia", "MediaPool.AppendToTimeline", "Timeline.AddTrack", "TimelineItem.SetClipEnabled",
                "TimelineItem.LoadVersionByName"}
    assert not changing & set(edit.fake.CALLS[calls:]), "the second apply only looked"
    assert again == ["Nothing new for 'Edit v3': the result was applied before, or carries no takes, CDL or findings."]


def test_the_editor_switching_versions_is_left_alone_on_reapply(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, take=False)
    host.apply(result)
    edit.sh010.LoadVersionByName("Version 1", 0)  # the colourist goes back to their grade
    host.apply(result)
    assert edit.sh010._version == "Version 1"


def test_accepting_a_take_enables_it_and_rejecting_sets_it_aside(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False)
    host.apply(result)
    placed = edit.timeline._tracks[2]["items"][0]
    clip = edit.clip_named(result, "A001_C002.mov")
    set_active_take(clip, "gen_v001")
    done = host.apply(result)
    assert placed._enabled and any("accepted" in line for line in done), done
    assert len(edit.timeline._tracks[2]["items"]) == 1, "the same item, not a second one"
    set_active_take(clip, "DEFAULT_MEDIA")
    host.apply(result)
    assert not placed._enabled


def test_two_takes_of_one_clip_go_on_two_tracks(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False)
    clip = edit.clip_named(result, "A001_C002.mov")
    second = tmp_path / "gen" / "sh010_extend_v002.mov"
    second.write_bytes(b"\0")
    edit.fake.register_media(str(second), 200)
    add_take(clip, otio.schema.ExternalReference(target_url=second.as_uri()), "gen_v002")  # no range: frame 0 = 0
    host.apply(result)
    assert [t["name"] for t in edit.timeline._tracks[2:]] == ["ShotBridge takes 1", "ShotBridge takes 2"]
    item = edit.timeline._tracks[3]["items"][0]
    assert item._mpi._props["File Path"] == str(second), "file:// URLs become paths"
    assert item._left == 100 and item._duration == 48, "without a range, take time = clip time"


def test_a_take_too_short_for_the_clip_is_reported_not_placed(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False, take=False)
    short = tmp_path / "short.mov"
    short.write_bytes(b"\0")
    edit.fake.register_media(str(short), 60)
    add_take(edit.clip_named(result, "A001_C002.mov"), otio.schema.ExternalReference(target_url=str(short)), "gen_v003")
    done = host.apply(result)
    assert any("take gen_v003 has 60 frame(s) but the clip needs its frames 100-147" in line for line in done), done
    assert len(edit.timeline._tracks) == 2, "no track made for a take that cannot be placed"


def test_a_take_that_is_not_on_this_machine_is_reported(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False, take=False)
    add_take(edit.clip_named(result, "A001_C002.mov"), otio.schema.ExternalReference(target_url="/gen/elsewhere.mov"),
             "gen_v009")
    done = host.apply(result)
    assert any("/gen/elsewhere.mov is not on this machine" in line for line in done), done
    assert len(edit.timeline._tracks) == 2 and not any(f._name == TAKES_BIN for f in edit.pool._root._subfolders
                                                      if f._clips)


def test_a_marker_outside_the_trimmed_clip_or_on_a_taken_frame_is_reported(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False, take=False)
    clip = edit.clip_named(result, "A001_C002.mov")
    add_finding(clip, otio.opentime.TimeRange(rt(300), rt(5)), {"kind": "drift", "job_id": "j", "frames": [300, 304]})
    edit.sh010.AddMarker(120, "Blue", "editor's note", "", 1, "")
    add_finding(clip, otio.opentime.TimeRange(rt(120), rt(2)), {"kind": "drift", "job_id": "j", "frames": [120, 121]})
    done = host.apply(result)
    assert any("lies outside the clip" in line for line in done)
    assert any("frame 120 already holds the marker 'editor's note'" in line for line in done)
    assert edit.sh010._markers[120.0]["name"] == "editor's note"


def test_clearing_removes_only_shotbridges_markers(edit, tmp_path):
    host, result = result_for(edit, tmp_path, cdl=False, take=False)
    host.apply(result)
    edit.sh010.AddMarker(101, "Red", "mine", "", 1, "not json")
    info = next(i for i in video_items(edit.timeline) if i.uid == edit.sh010.GetUniqueId())
    assert clear_findings(info) == 1
    assert list(edit.sh010._markers.values())[0]["name"] == "mine"


def test_results_find_their_item_after_the_edit_moved_it(edit, tmp_path):
    host, result = result_for(edit, tmp_path, cdl=False, take=False)
    edit.sh010._start = 87000  # the editor moved the clip after the job started
    host.apply(result)
    assert 130.0 in edit.sh010._markers, "found by its unique id, not its place"


def test_results_from_another_host_match_by_file_and_source_range(edit, tmp_path):
    clip = otio.schema.Clip(name="sh010", media_reference=otio.schema.ExternalReference(
        target_url="file://" + edit.paths["A001_C002.mov"]), source_range=otio.opentime.TimeRange(rt(100), rt(48)))
    set_cdl(clip, CDL(slope=(1.2, 1.2, 1.2)))
    done = apply_result(ResolveHost(edit.resolve).session, otio.schema.Timeline(tracks=[otio.schema.Track(
        children=[clip])]))
    assert any(line.startswith("sh010: CDL") for line in done), done
    assert any(v.startswith("ShotBridge look") for v in edit.sh010._versions)


def test_results_for_clips_that_are_gone_are_reported_not_raised(edit, tmp_path):
    host, result = result_for(edit, tmp_path)
    edit.timeline._tracks[0]["items"].remove(edit.sh010)
    done = host.apply(result)
    assert "A001_C002.mov: no matching clip on timeline 'Edit v3'" in done[0]


def test_results_go_to_the_timeline_they_came_from(edit, tmp_path):
    host, result = result_for(edit, tmp_path, cdl=False)
    other = edit.project._new_timeline("Edit v4")
    edit.project.SetCurrentTimeline(other)  # the editor moved on while the job ran
    host.apply(result)
    assert 130.0 in edit.sh010._markers and edit.timeline._tracks[2]["items"], "applied to Edit v3"
    assert edit.project._current is other, "and the editor is left on the timeline they were on"


def test_an_unexpected_refusal_from_resolve_is_reported_not_raised(edit, tmp_path, monkeypatch):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False)
    monkeypatch.setattr(type(edit.pool), "AddSubFolder", lambda self, folder, name: None)
    done = host.apply(result)
    assert done == ["ShotBridge could not apply the result in Resolve (RuntimeError: Resolve could not add the media "
                    "pool bin 'ShotBridge takes' under 'Master'.)."]


def test_takes_are_placed_even_with_no_timeline_open(edit, tmp_path):
    host, result = result_for(edit, tmp_path, drift=False, cdl=False)
    edit.project._current = None  # the editor closed the timeline while the job ran
    host.apply(result)
    assert edit.timeline._tracks[2]["items"] and edit.project._current is edit.timeline


def test_results_for_media_pool_clips_say_where_results_can_go(edit):
    edit.pool._selected = [edit.mpis["c"]]
    host = ResolveHost(edit.resolve, Selection("media_pool"))
    result = host.selection()
    set_cdl(next(iter(result.find_clips())), CDL(slope=(1.1, 1.1, 1.1)))
    assert "taken from the media pool, so there is no timeline clip" in host.apply(result)[0]
