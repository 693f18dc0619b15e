"""Benchmark the identity gate (run by hand: .venv/bin/python bench/bench_identity_gate.py [--repeat N]).

Prints, in one run, for a generated 1-megapixel image (1024x1024 PNG) and for one second of 1080p video (24
PNG frames, as the gate receives a provider's frames):
- the gate's time: `IdentityGate.score_files`, i.e. reading the generated files, the face engine on every
  frame, and the distances to the bible;
- the face engine's own time on the same frames in the same run (DlibFaceModel.detect + embed of every face
  found, on frames already in memory), the baseline;
- for reference, reading the files alone and the gate on frames already in memory (its own bookkeeping);
- the ratio gate / engine; the target is under 1.10 (the gate adds under 10% over the face engine alone).
The CPU is shared: compare the ratio, which moves far less than the seconds. Best of --repeat runs each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from shotbridge_backend.operations.identity_gate import IdentityGate, read_bgr
from shotbridge_backend.vision import DlibFaceModel, load_rgb, reference_embedding

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
TARGET = 1.10


def fit(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Centre-crop to the aspect, then scale: a generated frame of that size with the photo's face."""
    ih, iw = img.shape[:2]
    if iw / ih > w / h:
        cw = round(ih * w / h)
        img = img[:, (iw - cw) // 2:(iw - cw) // 2 + cw]
    else:
        ch = round(iw * h / w)
        img = img[(ih - ch) // 2:(ih - ch) // 2 + ch]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def frames_of(photo: np.ndarray, w: int, h: int, count: int) -> list[np.ndarray]:
    """`count` frames of a slow push-in on the photo (each frame differs, as a generated shot's do)."""
    out = []
    for i in range(count):
        zoom = 1.0 + 0.004 * i
        ih, iw = photo.shape[:2]
        cw, ch = round(iw / zoom), round(ih / zoom)
        x, y = (iw - cw) // 2, (ih - ch) // 2
        out.append(fit(np.ascontiguousarray(photo[y:y + ch, x:x + cw]), w, h))
    return out


def write_pngs(frames: list[np.ndarray], folder: Path, stem: str) -> list[Path]:
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"{stem}.{1001 + i:04d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def engine(model: DlibFaceModel, frames: list[np.ndarray]) -> None:
    for img in frames:
        model.embed(img, model.detect(img))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the best counts)")
    args = parser.parse_args()
    model = DlibFaceModel()
    bible = {"obama": reference_embedding([FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"], model)}
    gate = IdentityGate(bible, threshold=None, attempts=1, model=model)
    photo = load_rgb(FACES / "obama" / "obama1.jpg")
    cases = [("1-megapixel image (1024x1024)", 1024, 1024, 1, "per image"),
             ("1 s of 1080p video (24 frames)", 1920, 1080, 24, "per second")]
    print(f"{'case':34} {'gate s':>8} {'engine s':>9} {'read s':>7} {'in-mem s':>8} {'ratio':>6}  verdict")
    with tempfile.TemporaryDirectory() as tmp:
        for label, w, h, count, unit in cases:
            frames = frames_of(photo, w, h, count)
            paths = write_pngs(frames, Path(tmp), f"{w}x{h}")
            verdict = gate.score_files(paths)  # warm-up, and the check that the gate sees the face
            assert verdict.passed(gate.threshold), f"the gate should pass its own character: {verdict}"
            gate_s = best_of(args.repeat, lambda paths=paths: gate.score_files(paths))
            engine_s = best_of(args.repeat, lambda frames=frames: engine(model, frames))
            read_s = best_of(args.repeat, lambda paths=paths: [read_bgr(p) for p in paths])
            memory_s = best_of(args.repeat, lambda frames=frames: gate.score(frames))
            ratio = gate_s / engine_s
            print(f"{label:34} {gate_s:8.3f} {engine_s:9.3f} {read_s:7.3f} {memory_s:8.3f} {ratio:6.3f}  "
                  f"{'under' if ratio < TARGET else 'OVER'} the {TARGET:.2f} target ({unit}; distance "
                  f"{verdict.distance:.3f})")


if __name__ == "__main__":
    main()
