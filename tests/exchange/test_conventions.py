"""Facts, takes, CDL and findings behave as every host expects."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from shotbridge.exchange import io
from shotbridge.exchange.cdl import CDL, get_cdl, set_cdl
from shotbridge.exchange.errors import ExchangeError, UnsupportedContent
from shotbridge.exchange.facts import Facts, get_facts, set_facts
from shotbridge.exchange.markers import add_finding, list_findings
from shotbridge.exchange.shots import extract_shots
from shotbridge.exchange.takes import DEFAULT, add_take, next_take_key, place_on_track, set_active_take

R = 24.0


def rt(f: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(f, R)


def clip(name: str, start: int, dur: int, url: str | None = None) -> otio.schema.Clip:
    return otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(target_url=url or f"/p/{name}.mov"),
                            source_range=otio.opentime.TimeRange(rt(start), rt(dur)))


def cut(*clips: otio.schema.Clip) -> otio.schema.Timeline:
    t = otio.schema.Timeline(name="cut")
    t.tracks.append(otio.schema.Track(name="V1"))
    for c in clips:
        t.tracks[0].append(c)
    return t


def test_switching_takes_never_changes_the_cut():
    t = cut(clip("a", 10, 20), clip("b", 0, 30))
    a = t.tracks[0][0]
    before = [(c.name, c.range_in_parent()) for c in t.find_clips()]
    key = add_take(a, otio.schema.ExternalReference(target_url="/gen/a_v1.mov"), next_take_key(a, "gen"),
                   facts=Facts(job_id="j1", operation="extend_shot", seed=7))
    assert key == "gen_v001" and a.active_media_reference_key == DEFAULT
    set_active_take(a, key)
    assert a.media_reference.target_url == "/gen/a_v1.mov"
    assert get_facts(a.media_reference).seed == 7
    assert [(c.name, c.range_in_parent()) for c in t.find_clips()] == before
    with pytest.raises(ExchangeError, match="no take 'nope'"):
        set_active_take(a, "nope")
    with pytest.raises(ExchangeError, match="already has a take"):
        add_take(a, otio.schema.ExternalReference(target_url="/x"), key)


def test_new_clips_land_on_a_named_track_aligned_with_the_record_range():
    t = cut(clip("a", 0, 48), clip("b", 0, 48))
    ext = clip("a_ext", 0, 24, "/gen/a_ext.mov")
    track = place_on_track(t, "ShotBridge", ext, rt(48))
    assert track.name == "ShotBridge" and ext.range_in_parent().start_time == rt(48)


def test_new_clips_fill_gaps_on_the_track_and_never_move_what_is_there():
    t = cut(clip("a", 0, 48), clip("b", 0, 48))
    after = clip("b_after", 0, 24)
    place_on_track(t, "AI", after, rt(96))
    before = clip("a_before", 0, 12)
    track = place_on_track(t, "AI", before, rt(36))  # into the 96-frame gap in front of b_after
    assert [(type(i).__name__, i.range_in_parent().start_time.value, i.duration().value) for i in track] == [
        ("Gap", 0, 36), ("Clip", 36, 12), ("Gap", 48, 48), ("Clip", 96, 24)]
    with pytest.raises(ExchangeError, match="already has material"):
        place_on_track(t, "AI", clip("clash", 0, 24), rt(40))
    with pytest.raises(ExchangeError, match="already has material"):
        place_on_track(t, "AI", clip("too_long", 0, 60), rt(50))  # runs into b_after
    assert after.range_in_parent().start_time == rt(96)


def test_cdl_goes_out_in_an_edl_and_back(tmp_path):
    t = cut(clip("a", 86400, 24), clip("b", 86424, 24))
    cdl = CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0.0, -0.02), power=(1.0, 1.05, 0.95), saturation=0.85)
    set_cdl(t.tracks[0][0], cdl)
    path = tmp_path / "cut.edl"
    warnings = io.write(t, path, rate=24)
    text = path.read_text()
    assert text.count("ASC_SOP") == 1, text
    assert "ASC_SAT 0.85" in text
    back = io.read(path, 24).timeline
    assert get_cdl(next(iter(back.find_clips()))) == cdl
    assert get_cdl(list(back.find_clips())[1]) is None
    assert not [w for w in warnings if "dropped" in w]


def test_writing_an_edl_names_what_it_drops(tmp_path):
    t = cut(clip("a", 0, 24))
    t.tracks.append(otio.schema.Track(name="V2"))
    t.tracks[1].append(clip("b", 0, 24))
    set_facts(t.tracks[0][0], Facts(id="sh010"))
    add_take(t.tracks[0][0], otio.schema.ExternalReference(target_url="/gen/x.mov"), "gen_v001")
    warnings = io.write(t, tmp_path / "out.edl", rate=24)
    text = "\n".join(warnings)
    assert "only the first video track" in text and "V2" in text
    assert "shotbridge not written" in text.replace("metadata ", "")
    assert "take(s)" in text
    assert len(list(io.read(tmp_path / "out.edl", 24).timeline.find_clips())) == 1


def test_image_sequences_refused_for_fcp_xml(tmp_path):
    seq = otio.schema.ImageSequenceReference(target_url_base="/plates/", name_prefix="sh010.", name_suffix=".exr",
                                             start_frame=1001, frame_zero_padding=4, rate=R)
    c = otio.schema.Clip(name="sh010", media_reference=seq, source_range=otio.opentime.TimeRange(rt(0), rt(10)))
    with pytest.raises(UnsupportedContent, match="image sequences"):
        io.write(cut(c), tmp_path / "out.xml")
    assert not (tmp_path / "out.xml").exists()
    shot = extract_shots(cut(c.deepcopy()))[0]
    assert shot.media == "/plates/sh010.####.exr"


def test_findings_are_red_markers_with_their_data():
    c = clip("a", 0, 48)
    add_finding(c, otio.opentime.TimeRange(rt(12), rt(6)), {"kind": "drift", "expected": "obama", "found": "kit"},
                name="drift: kit instead of obama")
    ((marker, data),) = list_findings(c, "drift")
    assert marker.color == otio.schema.MarkerColor.RED and data["expected"] == "obama"


def test_facts_from_the_future_are_refused_clearly():
    c = clip("a", 0, 1)
    c.metadata["shotbridge"] = {"schema": 99}
    with pytest.raises(ExchangeError, match="schema 99"):
        get_facts(c)


def test_extract_filters_and_handles():
    t = cut(clip("sh010", 100, 24), clip("sh020", 200, 24), clip("pickup", 300, 24))
    t.tracks[0][1].markers.append(otio.schema.Marker(name="vfx", marked_range=otio.opentime.TimeRange(rt(200), rt(1))))
    assert [s.name for s in extract_shots(t, name="sh0*")] == ["sh010", "sh020"]
    assert [s.name for s in extract_shots(t, name="/^p/")] == ["pickup"]
    assert [s.name for s in extract_shots(t, marker="vfx")] == ["sh020"]
    assert [s.name for s in extract_shots(t, record_range=(30, 45))] == ["sh020"]
    s = extract_shots(t, handles=8)[0]
    assert (s.source_start, s.source_end, s.record_start, s.record_end) == (92, 132, 0, 24)


def test_edl_without_rate_asks_for_one(tmp_path):
    edl = tmp_path / "short.edl"
    edl.write_text("TITLE: X\n001  AX V C 01:00:00:00 01:00:01:00 01:00:00:00 01:00:01:00\n")
    with pytest.raises(ExchangeError, match="--rate"):
        io.read(edl)
    assert io.read(edl, 25).rate == 25
