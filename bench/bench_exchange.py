"""Exchange benchmark (run by hand): `.venv/bin/python bench/bench_exchange.py`

- A 10,000-clip, 4-track timeline: extract shots + annotate + write + read through ShotBridge, against plain
  OTIO read + write of the same file in the same run (target: overhead <= 1.5x).
- Diff of two 10,000-clip cuts, one a recut (moves, trims, retimes, adds, removes) of the other (target < 1 s).
"""

from __future__ import annotations

import random
import tempfile
import time
from functools import partial
from pathlib import Path

import opentimelineio as otio

from shotbridge.exchange import io
from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.diff import diff_timelines
from shotbridge.exchange.facts import Facts, set_facts
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.shots import extract_shots

R = 24.0


def rt(v: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, R)


def build(clips: int, tracks: int, seed: int = 0) -> otio.schema.Timeline:
    rnd = random.Random(seed)
    t = otio.schema.Timeline(name="bench")
    for ti in range(tracks):
        track = otio.schema.Track(name=f"V{ti + 1}")
        for i in range(clips // tracks):
            n = ti * (clips // tracks) + i
            c = otio.schema.Clip(name=f"sh{n:05d}", media_reference=otio.schema.ExternalReference(
                target_url=f"/plates/sh{n:05d}.mov"), source_range=otio.opentime.TimeRange(
                rt(1000 + rnd.randint(0, 50)), rt(rnd.randint(12, 120))))
            c.metadata["studio"] = {"seq": n // 100, "vendor": "inhouse"}
            track.append(c)
        t.tracks.append(track)
    return t


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def plain_read_write(src: Path, dest: Path) -> None:
    otio.adapters.write_to_file(otio.adapters.read_from_file(str(src)), str(dest))


def extract_annotate_write_read(timeline: otio.schema.Timeline, out: Path, full: bool) -> None:
    shots = extract_shots(timeline)
    for i, clip in enumerate(timeline.find_clips()):
        set_facts(clip, Facts(id=shots[i].id, job_id="job-1", operation="check_consistency", characters=["hero"]))
        if full:
            set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9)))
            if i % 10 == 0:
                add_finding(clip, otio.opentime.TimeRange(clip.source_range.start_time, rt(1)),
                            {"kind": "drift", "expected": "hero"})
    io.write(timeline, out)
    io.read(out)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.otio"
        otio.adapters.write_to_file(build(10_000, 4), str(src))

        base = best(partial(plain_read_write, src, Path(tmp) / "plain.otio"))
        print(f"10,000 clips x 4 tracks: plain OTIO read + write {base:.2f} s (target for ShotBridge: <= 1.5x)")
        for full in (True, False):
            out = Path(tmp) / f"ours-{full}.otio"
            timeline = io.read(src).timeline  # fresh each time, so neither run finds the other's work
            mine = best(partial(extract_annotate_write_read, timeline, out, full), 1)
            floor = best(partial(plain_read_write, out, Path(tmp) / "plain-annotated.otio"))
            what = "facts + CDL on every shot, a finding on every 10th" if full else "facts on every shot"
            print(f"  ShotBridge extract + annotate ({what}) + write + read: {mine:.2f} s -> {mine / base:.2f}x; "
                  f"the file grows {out.stat().st_size / src.stat().st_size:.2f}x, and plain OTIO read + write "
                  f"of it alone takes {floor:.2f} s ({floor / base:.2f}x)")

        old = build(10_000, 1, seed=1)
        new = old.deepcopy()
        rnd = random.Random(2)
        track = new.tracks[0]
        for _ in range(50):  # moves
            track.insert(rnd.randrange(len(track)), track.pop(rnd.randrange(len(track))))
        for c in rnd.sample(list(track), 50):  # trims
            c.source_range = otio.opentime.TimeRange(c.source_range.start_time + rt(2), c.source_range.duration - rt(2))
        for c in rnd.sample(list(track), 20):  # retimes
            c.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
        for _ in range(20):
            track.pop(rnd.randrange(len(track)))
        t0 = time.perf_counter()
        d = diff_timelines(old, new)
        took = time.perf_counter() - t0
        print(f"diff of two 10,000-clip cuts: {took:.2f} s (target < 1 s); found {d.counts}")


if __name__ == "__main__":
    main()
