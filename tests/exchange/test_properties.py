"""Random timelines survive a round trip unchanged: through OTIO JSON entirely, through an EDL for what an
EDL holds (one video track of clips and gaps, names, ranges, CDL)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import opentimelineio as otio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbridge.exchange import io
from shotbridge.exchange.cdl import CDL, get_cdl, set_cdl

RATES = [24.0, 25.0, 30.0, 24000 / 1001, 30000 / 1001]
SOME_TRACKS = st.integers(1, 3)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)


@st.composite
def timelines(draw, tracks=SOME_TRACKS, with_gaps=True):
    rate = draw(st.sampled_from(RATES))
    t = otio.schema.Timeline(name=draw(names))
    for ti in range(draw(tracks)):
        track = otio.schema.Track(name=f"V{ti + 1}")
        for i in range(draw(st.integers(1, 8))):
            dur = otio.opentime.RationalTime(draw(st.integers(1, 500)), rate)
            if with_gaps and draw(st.booleans()) and i:
                track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=dur)))
                continue
            start = otio.opentime.RationalTime(draw(st.integers(0, 200_000)), rate)
            clip = otio.schema.Clip(name=f"{draw(names)}{i}",
                                    media_reference=otio.schema.ExternalReference(target_url=f"/m/{draw(names)}.mov"),
                                    source_range=otio.opentime.TimeRange(start, dur))
            clip.metadata["studio"] = {"shot": draw(names), "n": draw(st.integers(-5, 5))}
            if draw(st.booleans()):
                clip.markers.append(otio.schema.Marker(
                    name=draw(names), color=draw(st.sampled_from(["RED", "GREEN", "BLUE"])),
                    marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(1, rate))))
            track.append(clip)
        t.tracks.append(track)
    return t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_otio_round_trip_is_exact(t):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.otio"
        io.write(t, path)
        back = io.read(path).timeline
    assert otio.adapters.write_to_string(back, "otio_json") == otio.adapters.write_to_string(t, "otio_json")


cdls = st.builds(CDL, slope=st.tuples(*[st.sampled_from([0.5, 0.9, 1.0, 1.25])] * 3),
                 offset=st.tuples(*[st.sampled_from([-0.05, 0.0, 0.02])] * 3),
                 power=st.tuples(*[st.sampled_from([0.8, 1.0, 1.1])] * 3), saturation=st.sampled_from([0.5, 1.0, 1.2]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines(tracks=st.just(1), with_gaps=False), st.data())
def test_edl_round_trip_keeps_what_an_edl_holds(t, data):
    rate = t.tracks[0][0].source_range.duration.rate
    for clip in t.find_clips():
        clip.metadata.clear()
        clip.markers.clear()
        if data.draw(st.booleans()):
            set_cdl(clip, data.draw(cdls))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.edl"
        io.write(t, path, rate=rate)
        back = io.read(path, rate).timeline
    a, b = list(t.find_clips()), list(back.find_clips())
    assert [c.name for c in b] == [c.name for c in a]
    for x, y in zip(a, b, strict=True):
        assert y.source_range.start_time.to_frames() == x.source_range.start_time.to_frames()
        assert y.source_range.duration.to_frames() == x.source_range.duration.to_frames()
        assert get_cdl(y) == get_cdl(x)
