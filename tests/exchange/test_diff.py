"""Recut diffs: every kind of change, stale takes, and reorders reported minimally."""

from __future__ import annotations

import time

import opentimelineio as otio

from shotbridge.exchange.diff import diff_timelines
from shotbridge.exchange.takes import add_take

R = 24.0


def make(spec) -> otio.schema.Timeline:
    """spec: (name, source start, duration, media[, speed])"""
    t = otio.schema.Timeline()
    t.tracks.append(otio.schema.Track(name="V1"))
    for name, start, dur, media, *speed in spec:
        c = otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(target_url=media),
                             source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, R),
                                                                  otio.opentime.RationalTime(dur, R)))
        if speed:
            c.effects.append(otio.schema.LinearTimeWarp(time_scalar=speed[0]))
        t.tracks[0].append(c)
    return t


def kinds(d) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in d.changes:
        out.setdefault(c.kind, set()).add(c.name)
    return out


def test_each_kind_of_change():
    old = make([("a", 0, 10, "a.mov"), ("b", 0, 10, "b.mov"), ("c", 0, 10, "c.mov"), ("d", 0, 10, "d.mov"),
                ("e", 0, 10, "e.mov")])
    add_take(old.tracks[0][1], otio.schema.ExternalReference(target_url="gen_b.mov"), "gen_v001")
    new = make([("a", 0, 10, "a.mov"), ("b", 2, 6, "b.mov"), ("d", 0, 10, "d.mov", 2.0), ("c", 0, 10, "c.mov"),
                ("f", 0, 10, "f.mov")])
    d = diff_timelines(old, new)
    k = kinds(d)
    assert k["trimmed_head"] == {"b"} and k["trimmed_tail"] == {"b"} and k["retimed"] == {"d"}
    assert k["added"] == {"f"} and k["removed"] == {"e"}
    assert len(k["moved"]) == 1 and k["moved"] <= {"c", "d"}
    assert [(s.clip, s.take) for s in d.stale_takes] == [("b", "gen_v001")]
    assert d.unchanged == 1


def test_resourced_by_stable_id():
    old = make([("a", 0, 10, "a.mov")])
    new = make([("a", 0, 10, "a_v2.mov")])
    for t in (old, new):
        t.tracks[0][0].metadata["shotbridge"] = {"schema": 1, "id": "sh010"}
    assert kinds(diff_timelines(old, new)) == {"replaced": {"a"}}


def test_reordering_10000_shots_reports_only_what_moved():
    spec = [(f"s{i}", i * 10, 10, f"m{i}.mov") for i in range(10_000)]
    moved = spec[:]
    moved.insert(0, moved.pop(5000))  # one shot moved to the head of the reel
    t0 = time.perf_counter()
    d = diff_timelines(make(spec), make(moved))
    elapsed = time.perf_counter() - t0
    assert [c.name for c in d.changes] == ["s5000"] and d.unchanged == 9999
    assert elapsed < 10  # generous for CI; bench/bench_exchange.py measures the real figure


def clip(name, start, dur, media, rate=R):
    return otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(target_url=media),
                            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate),
                                                                 otio.opentime.RationalTime(dur, rate)))


def test_slip_replace_and_trims_name_their_frames():
    old = make([("a", 100, 10, "a.mov"), ("b", 100, 10, "b.mov"), ("c", 100, 10, "c.mov"), ("d", 100, 10, "d.mov")])
    new = make([("a", 104, 10, "a.mov"), ("b", 100, 10, "b2.mov"), ("c", 103, 7, "c.mov"), ("d", 100, 12, "d.mov")])
    by_name = {c.name: c for c in diff_timelines(old, new).changes}
    assert (by_name["a"].kind, by_name["a"].frames) == ("slipped", 4)
    assert by_name["b"].kind == "replaced" and "b.mov -> b2.mov" in by_name["b"].detail
    assert (by_name["c"].kind, by_name["c"].frames) == ("trimmed_head", 3)
    assert (by_name["d"].kind, by_name["d"].frames) == ("trimmed_tail", 2)


def test_track_names_are_not_edits_and_audio_is_diffed():
    old, new = make([("a", 0, 10, "a.mov")]), make([("a", 0, 10, "a.mov")])
    old.tracks[0].name, new.tracks[0].name = "Video 1", ""
    for t, dur in ((old, 10), (new, 8)):
        audio = otio.schema.Track(name="Audio" if t is old else "A1", kind=otio.schema.TrackKind.Audio)
        audio.append(clip("a", 0, dur, "a.wav"))
        t.tracks.append(audio)
    d = diff_timelines(old, new)
    assert [(c.kind, c.track, c.frames) for c in d.changes] == [("audio_trimmed_tail", "A1", -2)]


def test_no_noise_from_ntsc_arithmetic():
    ntsc = 24000 / 1001
    old = make([("a", 0, 10, "a.mov")])
    new = otio.schema.Timeline()
    new.tracks.append(otio.schema.Track())
    # The same frames written in seconds at the NTSC rate and read back: values off in the last bits.
    start = otio.opentime.RationalTime(0, R).rescaled_to(ntsc).rescaled_to(R)
    dur = otio.opentime.RationalTime(10 * 1.0000000001, R)
    new.tracks[0].append(otio.schema.Clip(name="a", media_reference=otio.schema.ExternalReference(
        target_url="file://localhost/Volumes/x/a.mov"), source_range=otio.opentime.TimeRange(start, dur)))
    new.tracks[0][0].effects.append(otio.schema.LinearTimeWarp(time_scalar=1.0000004))
    d = diff_timelines(old, new)
    assert not d.changes and d.unchanged == 1


def test_placeholders_sharing_a_file_and_in_point_are_told_apart_by_name():
    old = make([("slug_vfx010", 0, 10, "slug.mov"), ("slug_vfx020", 0, 10, "slug.mov"), ("bars", 0, 5, "slug.mov")])
    new = make([("slug_vfx020", 0, 10, "slug.mov"), ("slug_vfx010", 0, 12, "slug.mov"), ("bars", 0, 5, "slug.mov")])
    found = [(c.name, c.kind, c.frames) for c in diff_timelines(old, new).changes]
    assert ("slug_vfx010", "trimmed_tail", 2) in found
    moves = [name for name, kind, _ in found if kind == "moved"]
    assert len(found) == 2 and len(moves) == 1 and moves[0] in ("slug_vfx010", "slug_vfx020")


def test_markers_cdl_and_take_choice_are_named():
    from shotbridge.exchange.cdl import CDL, set_cdl
    from shotbridge.exchange.takes import set_active_take

    old = make([("a", 0, 10, "a.mov"), ("b", 0, 10, "b.mov"), ("c", 0, 10, "c.mov")])
    new = old.deepcopy()
    new.tracks[0][0].markers.append(otio.schema.Marker(name="fix", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(2, R), otio.opentime.RationalTime(1, R))))
    set_cdl(new.tracks[0][1], CDL(slope=(1.1, 1.0, 1.0)))
    add_take(new.tracks[0][2], otio.schema.ExternalReference(target_url="gen_c.mov"), "gen_v001")
    set_active_take(new.tracks[0][2], "gen_v001")
    assert {c.name: c.kind for c in diff_timelines(old, new).changes} == {
        "a": "markers_changed", "b": "cdl_changed", "c": "take_changed"}


def test_avid_media_references_are_not_takes():
    old = make([("a", 0, 10, "a.mov")])
    phys = otio.schema.ExternalReference(target_url="file://VSD/Avid MediaFiles/MXF/a.PHYS.mxf")
    phys.metadata["AAF"] = {"MobID": "urn:smpte:umid:060a2b34"}
    add_take(old.tracks[0][0], phys, "a.mov.PHYS")
    new = make([("a", 2, 8, "a.mov")])
    d = diff_timelines(old, new)
    assert [c.kind for c in d.changes] == ["trimmed_head"] and d.stale_takes == []


def test_different_rates_are_compared_in_time_and_said_once():
    old = make([("a", 0, 48, "a.mov"), ("b", 48, 24, "b.mov")])
    new = otio.schema.Timeline()
    new.tracks.append(otio.schema.Track())
    new.tracks[0].append(clip("a", 0, 50, "a.mov", rate=25.0))
    new.tracks[0].append(clip("b", 50, 25, "b.mov", rate=25.0))
    d = diff_timelines(old, new)
    assert not d.changes and d.unchanged == 2
    assert len(d.notes) == 1 and "24 -> 25" in d.notes[0]


def test_an_unrelated_cut_is_said_in_the_summary():
    old = make([(f"a{i}", i * 10, 10, f"a{i}.mov") for i in range(20)])
    new = make([(f"b{i}", i * 7, 9, f"b{i}.mov") for i in range(30)])
    d = diff_timelines(old, new)
    assert d.unrelated and d.changes == [] and "different cuts" in d.notes[0]
    assert d.to_json()["summary"]["unrelated"] is True and d.to_json()["schema"] == 2


def test_off_grid_source_positions_match_within_a_frame():
    # FCP7 XML with 23.976 media in a 25 fps sequence puts in points between frames; an EDL truncates them.
    old = make([("a", 509.49999999999994, 75, "a.mov"), ("b", 100.25, 20, "b.mov")])
    new = make([("a", 509, 75, "a.mov"), ("b", 101.25, 20, "b.mov")])
    assert [(c.name, c.kind, c.frames) for c in diff_timelines(old, new).changes] == [
        ("b", "slipped", 1)]


def test_a_nested_sequence_is_one_shot():
    old = make([("a", 0, 10, "a.mov"), ("b", 0, 10, "b.mov")])
    nested = otio.schema.Stack(name="compound_1")
    inner = otio.schema.Track()
    inner.append(clip("x", 0, 20, "x.mov"))
    nested.append(inner)
    old.tracks[0].insert(1, nested)
    new = old.deepcopy()
    del new.tracks[0][1]
    assert [(c.name, c.kind) for c in diff_timelines(old, new).changes] == [("compound_1", "removed")]


def _dissolve(before: int, after: int) -> otio.schema.Transition:
    return otio.schema.Transition(in_offset=otio.opentime.RationalTime(before, R),
                                  out_offset=otio.opentime.RationalTime(after, R))


def test_a_dissolve_placed_another_way_is_not_a_trim():
    # OTIO/AAF centre a 100-frame dissolve on the cut; an EDL starts it at the cut and moves the cut 50 earlier.
    centred = make([("a", 0, 204, "a.mov"), ("b", 50, 200, "b.mov")])
    centred.tracks[0].insert(1, _dissolve(50, 50))
    at_cut = make([("a", 0, 154, "a.mov"), ("b", 0, 250, "b.mov")])
    at_cut.tracks[0].insert(1, _dissolve(0, 100))
    assert diff_timelines(centred, at_cut).changes == []
    trimmed = make([("a", 0, 154, "a.mov"), ("b", 0, 240, "b.mov")])
    trimmed.tracks[0].insert(1, _dissolve(0, 100))
    assert [(c.name, c.kind, c.frames) for c in diff_timelines(centred, trimmed).changes] == [
        ("b", "trimmed_tail", -10)]
