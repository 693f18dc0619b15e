"""Benchmark the panel's Thumbnailer (run by hand: .venv/bin/python bench/bench_thumbnails.py [--movies N]).

Prints, in one run, for N (default 200) real 1280x720 H.264/MPEG-4 movies written here:
- thumbnails per second cold (decode the frame, scale to 160 px, write the PNG) through the Thumbnailer's
  pool (1 and 2 workers);
- thumbnails per second cached (the same requests again: stat, key, PNG read back as a QImage-free bytes load);
- the ratio cached / cold, measured in the same run. The CPU is shared: compare the ratios, which move far
  less than the figures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from shotbridge.panel.thumbnails import Thumbnailer


def write_movies(folder: Path, n: int, size=(1280, 720), frames: int = 24) -> list[Path]:
    paths = []
    for i in range(n):
        path = folder / f"sh{i:03d}.mp4"
        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, size)
        for f in range(frames):
            frame = np.full((size[1], size[0], 3), ((i * 37) % 255, (f * 9) % 255, 90), np.uint8)
            cv2.putText(frame, f"{i}:{f}", (200, 400), cv2.FONT_HERSHEY_SIMPLEX, 6, (255, 255, 255), 12)
            out.write(frame)
        out.release()
        paths.append(path)
    return paths


def run(movies: list[Path], cache: Path, workers: int) -> float:
    """Seconds for every movie's frame-12 thumbnail through one Thumbnailer."""
    done = threading.Semaphore(0)
    failed = []
    thumbs = Thumbnailer(cache, workers=workers, load=lambda p: p.read_bytes())
    start = time.perf_counter()
    for m in movies:
        thumbs.request(m, 12, lambda t: (failed.append(t.reason) if not t.ok else None, done.release()))
    for _ in movies:
        done.acquire()
    seconds = time.perf_counter() - start
    thumbs.close()
    if failed:
        raise SystemExit(f"{len(failed)} thumbnail(s) failed: {failed[0]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-thumbs-") as tmp:
        root = Path(tmp)
        (root / "movies").mkdir()
        t = time.perf_counter()
        movies = write_movies(root / "movies", args.movies)
        print(f"{len(movies)} movies 1280x720, 24 frames each, written in {time.perf_counter() - t:.1f} s")
        results = {}
        for workers in (1, 2):
            cache = root / f"cache{workers}"
            cold = run(movies, cache, workers)
            cached = run(movies, cache, workers)
            results[workers] = (cold, cached)
            print(f"{workers} worker(s): cold {len(movies) / cold:7.1f} thumbnails/s ({cold:.2f} s), "
                  f"cached {len(movies) / cached:7.1f} thumbnails/s ({cached:.2f} s), "
                  f"cached/cold {cold / cached:.1f}x")
            shutil.rmtree(cache)
        one, two = results[1][0], results[2][0]
        print(f"cold, 2 workers vs 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
