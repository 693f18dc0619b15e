"""Exchange benchmark (run by hand): `.venv/bin/python bench/bench_exchange.py`

- A 10,000-clip, 4-track timeline: extract shots + annotate + write + read through ShotBridge, against plain
  OTIO read + write of the same file in the same run (target: overhead <= 1.5x).
- Diff of two 10,000-clip cuts, one a recut (moves, trims, retimes, adds, removes) of the other (target < 1 s).
- Start-up of the CLI as a panel or conform script calls it: `shotbridge --help` and `timeline info` on a
  10-clip EDL (target < 0.3 s wall each), against `python -c pass` and a plain OTIO read of the same EDL.
- `shotbridge timeline diff` of two 10,000-clip .otio cuts end to end through the CLI (target < 1.5 s), against
  a plain OTIO read of the same two files, each in a fresh process measured in the same run.
"""

from __future__ import annotations

import random
import subprocess
import sys
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


def wall(*argv: str, n: int = 5) -> float:
    """Best wall time of a fresh process (what a script calling the CLI waits)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *argv], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def cli_figures(tmp: Path) -> None:
    edl = tmp / "ten.edl"
    io.write(build(10, 1), edl, rate=R)
    old, new = tmp / "old.otio", tmp / "new.otio"
    cut = build(10_000, 1, seed=3)
    otio.adapters.write_to_file(cut, str(old))
    track = cut.tracks[0]
    rnd = random.Random(4)
    for _ in range(50):
        track.insert(rnd.randrange(len(track)), track.pop(rnd.randrange(len(track))))
    for c in rnd.sample(list(track), 50):
        c.source_range = otio.opentime.TimeRange(c.source_range.start_time + rt(2), c.source_range.duration - rt(2))
    otio.adapters.write_to_file(cut, str(new))

    base = wall("-c", "pass")
    plain_edl = wall("-c", f"import opentimelineio as o; o.adapters.read_from_file({str(edl)!r}, rate={R})")
    print(f"python -c pass {base:.3f} s; plain OTIO read of a 10-clip EDL {plain_edl:.3f} s")
    for label, argv in (("shotbridge --help", ("-m", "shotbridge.cli", "--help")),
                        ("shotbridge timeline info (10-clip EDL)",
                         ("-m", "shotbridge.cli", "timeline", "info", str(edl), "--rate", "24"))):
        took = wall(*argv)
        print(f"  {label}: {took:.3f} s (target < 0.3 s) -> {took / base:.1f}x python -c pass, "
              f"{took / plain_edl:.2f}x plain OTIO read")
    plain = wall("-c", f"import opentimelineio as o; o.adapters.read_from_file({str(old)!r}); "
                       f"o.adapters.read_from_file({str(new)!r})", n=3)
    took = wall("-m", "shotbridge.cli", "timeline", "diff", str(old), str(new), "--json", n=3)
    print(f"shotbridge timeline diff of two 10,000-clip cuts through the CLI: {took:.2f} s (target < 1.5 s); "
          f"plain OTIO read of both {plain:.2f} s -> {took / plain:.2f}x")


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
        print(f"diff of two 10,000-clip cuts: {took:.2f} s (target < 1 s); found "
              f"{ {k: n for k, n in d.counts.items() if n} }")
        cli_figures(Path(tmp))


if __name__ == "__main__":
    main()
