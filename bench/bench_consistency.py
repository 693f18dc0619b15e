"""Benchmark check_consistency on 1920x1080 frames (run by hand: .venv/bin/python bench/bench_consistency.py).

Builds a 1080p 24 fps movie from a real photograph (push-in, a 14-frame face replacement), then times:
- check_shots at the default stride (what the operation runs), and
- a naive baseline in the same run: decode every frame with read(), detect at full resolution, embed, on the
  same sampled frames (no downscaled detection, no grab() skipping, no probes/bisection).
Prints media frames per second, the extrapolated time for a 2-minute 24 fps shot and the speed-up.
`--full` renders and checks a real 2-minute shot instead of extrapolating (about 3 minutes more).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from shotbridge_backend.vision import (
    DEFAULT_STRIDE,
    DlibFaceModel,
    ShotSpec,
    check_shots,
    reference_embedding,
)
from shotbridge_backend.vision.frames import load_rgb, sample_frames
from shotbridge_backend.vision.synth import replaced_face_shot, write_movie

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
TWO_MINUTES = 2 * 60 * 24


def naive(path: Path, frames: list[int], model: DlibFaceModel, bible: dict) -> int:
    """Decode everything, full-resolution detection, embed every face of each sampled frame."""
    cap = cv2.VideoCapture(str(path))
    wanted, i, faces_seen = set(frames), 0, 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i in wanted:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            faces = model.detect(rgb)
            model.embed(rgb, faces)
            faces_seen += len(faces)
        i += 1
    cap.release()
    return faces_seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=480, help="length of the benchmark movie (default 20 s)")
    ap.add_argument("--full", action="store_true", help="check a real 2-minute shot instead of extrapolating")
    ap.add_argument("--stride", type=int, default=DEFAULT_STRIDE)
    args = ap.parse_args()
    n = TWO_MINUTES if args.full else args.frames

    model = DlibFaceModel()
    bible = {
        "obama": reference_embedding([FACES / "obama/obama-720p.jpg", FACES / "obama/obama2.jpg"], model),
        "kit_harington": reference_embedding([FACES / "kit_harington/john1.jpeg"], model),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_1080p.mp4"
        t = time.perf_counter()
        a, b = load_rgb(FACES / "obama/obama.jpg"), load_rgb(FACES / "kit_harington/john2.jpeg")
        swap = (n // 3, n // 3 + 14)
        write_movie(
            replaced_face_shot(
                a, b, n, swap, "paste", DlibFaceModel(detect_long_side=1600), size=(1920, 1080)
            ),
            path,
        )
        print(f"rendered {n} frames of 1920x1080 in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        res = check_shots(
            [ShotSpec(name="bench", media=str(path), characters=["obama"])], bible, model, args.stride
        )
        ours = time.perf_counter() - t
        shot = res.shots[0]
        found = [(f.start_frame, f.end_frame, f.found) for f in shot.findings]
        print(
            f"check_shots stride {args.stride}: {ours:.2f} s, {shot.frames_read} frames read, findings {found}"
        )

        grid = sample_frames(0, n, args.stride)
        t = time.perf_counter()
        naive(path, grid, DlibFaceModel(detect_long_side=0), bible)
        base = time.perf_counter() - t
        print(
            f"naive baseline (full-res detect, decode all) on the same {len(grid)} grid frames: {base:.2f} s"
        )

    per_media_frame = ours / n
    print()
    print(f"media frames per second (1080p, stride {args.stride}): {n / ours:.1f}")
    print(f"sampled frames per second: {shot.frames_read / ours:.2f}")
    label = "measured" if args.full else "extrapolated"
    print(
        f"2-minute 24 fps 1080p shot ({TWO_MINUTES} frames): {per_media_frame * TWO_MINUTES:.1f} s {label} (target < 60 s)"
    )
    print(f"naive baseline for the same shot: {base / n * TWO_MINUTES:.1f} s {label}")
    print(f"speed-up over the naive baseline: {base / ours:.2f}x")


if __name__ == "__main__":
    main()
