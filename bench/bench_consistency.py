"""Benchmark check_consistency (run by hand: .venv/bin/python bench/bench_consistency.py [--full]).

Prints, in one run:
- media frames per second of check_shots (every frame looked at) on a 1080p push-in with a 4-frame face swap,
  on a 4K one, on a wide 1080p shot with a 48 px face, and on a 4K shot with no face (the small-face pass's
  worst case);
- the time for a 2-minute 24 fps shot at 1080p and 4K (extrapolated from the runs; `--full` renders and
  checks a real 2-minute 1080p shot, about 4 minutes more);
- recall and exactness on the short-swap set (swaps of 4, 6, 8 and 10 frames starting at every phase of the
  full-detection grid: 48 swaps, as tests/vision/test_vision_coverage.py);
- the face engine's own per-frame time measured on the same frames in the same run (DlibFaceModel.detect +
  embed of every face found, as checking every frame the plain way would), and the ratio against it.
The CPU is shared: compare the ratio, which moves far less than the seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from shotbridge_backend.vision import DlibFaceModel, ShotSpec, check_shots, load_rgb, reference_embedding
from shotbridge_backend.vision.frames import open_media
from shotbridge_backend.vision.synth import render_shot, replaced_face_shot, wide_shot, write_movie

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
TWO_MINUTES = 2 * 60 * 24
SWAP_SET = [
    (4, "obama/obama.jpg", "kit_harington/john2.jpeg", "paste", "obama"),
    (6, "biden/biden.jpg", "obama/obama-720p.jpg", "paste", "biden"),
    (8, "obama/obama1.jpg", "biden/biden2.jpg", "cut", "obama"),
    (10, "kit_harington/johnsnow_test1.jpg", "lin_manuel_miranda/lin-manuel-miranda.png", "paste", "kit_harington"),
]


def engine_ms_per_frame(path: Path, model: DlibFaceModel, frames: int = 24) -> float:
    """The face engine's own cost per frame: detect, then embed every face, on the movie's first frames."""
    src = open_media(path)
    try:
        imgs = [src.read(f) for f in range(min(frames, src.last + 1))]
    finally:
        src.close()
    t = time.perf_counter()
    for img in imgs:
        model.embed(img, model.detect(img))
    return (time.perf_counter() - t) / len(imgs) * 1000


def timed_check(path: Path, who: str, bible: dict, model: DlibFaceModel):
    t = time.perf_counter()
    res = check_shots([ShotSpec(name=path.stem, media=str(path), characters=[who])], bible, model)
    return time.perf_counter() - t, res.shots[0]


def photo(rel: str, long_side: int = 800) -> np.ndarray:
    img = load_rgb(FACES / rel)
    s = long_side / max(img.shape[:2])
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=480, help="length of the 1080p benchmark movie (default 20 s)")
    ap.add_argument("--frames-4k", type=int, default=120, help="length of the 4K benchmark movie")
    ap.add_argument("--full", action="store_true", help="check a real 2-minute 1080p shot")
    ap.add_argument("--no-swaps", action="store_true", help="skip the short-swap recall set")
    args = ap.parse_args()

    model = DlibFaceModel()
    finder = DlibFaceModel(detect_long_side=1600)
    bible = {
        "obama": reference_embedding([FACES / "obama/obama-720p.jpg", FACES / "obama/obama2.jpg"], model),
        "biden": reference_embedding([FACES / "biden/biden2.jpg"], model),
        "kit_harington": reference_embedding([FACES / "kit_harington/john1.jpeg"], model),
    }
    a, b = load_rgb(FACES / "obama/obama.jpg"), load_rgb(FACES / "kit_harington/john2.jpeg")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        movies = {}
        t = time.perf_counter()
        for label, n, size in (("1080p", TWO_MINUTES if args.full else args.frames, (1920, 1080)),
                               ("4K", args.frames_4k, (3840, 2160))):
            swap = (n // 3, n // 3 + 4)
            movies[label] = (Path(tmp) / f"{label}.mp4", n, swap)
            write_movie(replaced_face_shot(a, b, n, swap, "paste", finder, size=size, move="push"),
                        movies[label][0])
        wide = Path(tmp) / "wide.mp4"
        write_movie(wide_shot(a, 480, 48, (1920, 1080)), wide)
        empty = Path(tmp) / "empty4k.mp4"
        write_movie(render_shot(data.coffee(), 192, (3840, 2160), "push"), empty)
        print(f"rendered the benchmark movies in {time.perf_counter() - t:.0f} s")

        for label, (path, n, swap) in movies.items():
            secs, shot = timed_check(path, "obama", bible, model)
            found = [(f.start_frame, f.end_frame, f.found, f.exact) for f in shot.findings]
            rows.append((f"{label} push-in, 4-frame swap at {swap}", path, n, secs, shot, found))
        for label, path, n in (("1080p wide, 48 px face", wide, 480), ("4K, no face", empty, 192)):
            secs, shot = timed_check(path, "obama", bible, model)
            rows.append((label, path, n, secs, shot, shot.state))

        print()
        print(f"{'shot':40s} {'frames':>6s} {'s':>7s} {'fps':>6s} {'ms/frame':>8s} {'engine ms':>9s} "
              f"{'ratio':>6s} {'2 min':>7s}  result")
        per_frame = {}
        for label, path, n, secs, shot, found in rows:
            eng = engine_ms_per_frame(path, model)
            ms = secs / n * 1000
            per_frame[label] = ms
            print(f"{label:40s} {n:6d} {secs:7.1f} {n / secs:6.1f} {ms:8.1f} {eng:9.1f} {ms / eng:6.2f} "
                  f"{ms * TWO_MINUTES / 1000:7.1f}  {found} ({shot.embeddings} identity checks)")

        if not args.no_swaps:
            print()
            hits = total = exact = extra = 0
            t = time.perf_counter()
            frames_checked = 0
            for length, pa, pb, mode, who in SWAP_SET:
                ranges = [(24 * (i + 1) + i, 24 * (i + 1) + i + length) for i in range(12)]
                n = ranges[-1][1] + 24
                path = Path(tmp) / f"swaps{length}.mp4"
                write_movie(replaced_face_shot(photo(pa), photo(pb), n, ranges, mode, finder, size=(480, 270),
                                               move="push"), path)
                _, shot = timed_check(path, who, bible, model)
                frames_checked += n
                found = {(f.start_frame, f.end_frame) for f in shot.findings}
                overlap = [r for r in ranges if any(s < r[1] and r[0] < e for s, e in found)]
                hits += len(overlap)
                exact += len(set(ranges) & found)
                extra += len([f for f in found if not any(f[0] < r[1] and r[0] < f[1] for r in ranges)])
                total += len(ranges)
                print(f"{length:2d}-frame swaps ({mode}): caught {len(overlap)}/12, exact {len(set(ranges) & found)}"
                      f"/12")
            print(f"short-swap set: recall {hits / total:.3f} ({hits}/{total}), exact ranges {exact}/{hits}, "
                  f"false findings {extra}; {frames_checked} frames in {time.perf_counter() - t:.0f} s "
                  "including rendering")

    print()
    label_1080 = next(k for k in per_frame if k.startswith("1080p push"))
    label_4k = next(k for k in per_frame if k.startswith("4K push"))
    how = "measured" if args.full else "extrapolated"
    print(f"2-minute 24 fps shot, 1080p: {per_frame[label_1080] * TWO_MINUTES / 1000:.1f} s {how} "
          "(target < 60 s)")
    print(f"2-minute 24 fps shot, 4K: {per_frame[label_4k] * TWO_MINUTES / 1000:.1f} s extrapolated "
          "(target < 180 s)")


if __name__ == "__main__":
    main()
