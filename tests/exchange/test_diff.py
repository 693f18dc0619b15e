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
