"""How the face engine does on turned, rotated, blurred and partly hidden faces (run by hand:
.venv/bin/python bench/bench_face_conditions.py).

Frames are made from the photographs in ../shared/faces: every single-face photo that is not a bible reference
(the bible is tests/vision/conftest.py's EVAL_BIBLE), downscaled to 800 px, then
- rotated in the image plane (a tilted head),
- turned about the vertical axis (a perspective warp of the photo: a stand-in for a three-quarter view; a
  real profile shows a different side of the head, which no warp of a frontal photo can),
- blurred (Gaussian, sigma in pixels of an ~150 px face: defocus; and horizontal motion blur over a length),
- partly hidden (the face's right part covered by a flat patch: occlusion by a hand, a door frame).
Per condition it prints the detection rate, the rate of faces identified as the right person (distance within
the threshold), the median same-person distance, the median chip sharpness and yaw measure that consistency.py
uses to call a face too blurred / turned too far to judge, how many detected faces were not identified as the
right person, how many of those would still be judged (each a false drift if it were the expected character),
and how many right ones are left unjudged (lost coverage).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "vision"))
from conftest import EVAL_BIBLE, EVAL_LONG_SIDE, FACES  # noqa: E402

from shotbridge_backend.vision import DlibFaceModel, load_rgb, reference_embedding  # noqa: E402
from shotbridge_backend.vision.consistency import MAX_YAW, MIN_SHARPNESS, _signature, yaw_of  # noqa: E402
from shotbridge_backend.vision.faces import distances_to_bible  # noqa: E402


def rotate(deg: float):
    def f(im: np.ndarray, box) -> np.ndarray:
        c = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        m = cv2.getRotationMatrix2D(c, deg, 1.0)
        return cv2.warpAffine(im, m, (im.shape[1], im.shape[0]), borderMode=cv2.BORDER_REFLECT101)

    return f


def turn(deg: float):
    """Rotate the photo's plane about a vertical axis through the face, seen by a camera 3 face-widths away."""

    def f(im: np.ndarray, box) -> np.ndarray:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        w = box[2] - box[0]
        d, t = 3.0 * w, np.radians(deg)
        src, dst = [], []
        for x, y in ((cx - w, cy - w), (cx + w, cy - w), (cx + w, cy + w), (cx - w, cy + w)):
            dx = x - cx
            z = d + dx * np.sin(t)
            dst.append((cx + dx * np.cos(t) * d / z, cy + (y - cy) * d / z))
            src.append((x, y))
        m = cv2.getPerspectiveTransform(np.float32(src), np.float32(dst))
        return cv2.warpPerspective(im, m, (im.shape[1], im.shape[0]), borderMode=cv2.BORDER_REFLECT101)

    return f


def blur(sigma: float):
    def f(im: np.ndarray, box) -> np.ndarray:
        s = sigma * (box[3] - box[1]) / 150  # sigma for a 150 px face, scaled to this face
        return cv2.GaussianBlur(im, (0, 0), max(0.1, s))

    return f


def motion(length: float):
    """Horizontal motion blur over `length` px of a 150 px face (a fast pan or head turn)."""

    def f(im: np.ndarray, box) -> np.ndarray:
        n = max(1, int(round(length * (box[3] - box[1]) / 150)))
        k = np.zeros((n, n), np.float32)
        k[n // 2, :] = 1.0 / n
        return cv2.filter2D(im, -1, k)

    return f


def hide(frac: float):
    def f(im: np.ndarray, box) -> np.ndarray:
        out = im.copy()
        x0, y0, x1, y1 = box
        cut = int(x1 - frac * (x1 - x0))
        out[max(0, y0 - 20) : y1 + 20, cut : x1 + 20] = (90, 90, 90)
        return out

    return f


CONDITIONS = {
    "none": lambda im, box: im,
    **{f"in-plane {d} deg": rotate(d) for d in (15, 30, 45)},
    **{f"turned {d} deg": turn(d) for d in (20, 35, 50, 65)},
    **{f"blur sigma {s}": blur(s) for s in (1.5, 3, 5, 8)},
    **{f"motion blur {n} px": motion(n) for n in (8, 16, 32)},
    **{f"hidden {int(p * 100)}%": hide(p) for p in (0.25, 0.4, 0.55)},
}


def med(xs: list[float]) -> str:
    return f"{np.median(xs):8.3f}" if xs else f"{'-':>8s}"


def main() -> None:
    model = DlibFaceModel()
    finder = DlibFaceModel(detect_long_side=1600)
    bible = {n: reference_embedding([FACES / p for p in ps], model) for n, ps in EVAL_BIBLE.items()}
    refs = {p for ps in EVAL_BIBLE.values() for p in ps}
    probes = []
    for p in sorted(FACES.glob("*/*")):
        rel = f"{p.parent.name}/{p.name}"
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not rel.startswith("_") and rel not in refs:
            if p.parent.name in bible:
                img = load_rgb(p)
                s = EVAL_LONG_SIDE / max(img.shape[:2])
                img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img
                faces = finder.detect(img)
                if faces:
                    probes.append((p.parent.name, img, max(faces, key=lambda f: f.area).box))
    print(f"{len(probes)} probe photos, threshold {model.threshold}, unjudged when yaw > {MAX_YAW} or "
          f"sharpness < {MIN_SHARPNESS}")
    print(f"{'condition':18s} {'detected':>8s} {'right':>6s} {'med dist':>8s} {'med yaw':>8s} {'med sharp':>9s} "
          f"{'unjudged':>8s} {'wrong':>5s} {'wrong judged':>12s} {'right unjudged':>14s}")
    for name, cond in CONDITIONS.items():
        det = right = unjudged = wrong = wrong_judged = right_unjudged = 0
        dists, yaws, sharps = [], [], []
        for who, img, box in probes:
            im = cond(img, box)
            faces = [f for f in model.detect(im) if f.box[0] < box[2] and box[0] < f.box[2]]
            if not faces:
                continue
            det += 1
            face = max(faces, key=lambda f: f.area)
            al = model.align(im, face)
            _, sharp = _signature(al.chip)
            yaw = yaw_of(al.landmarks)
            d = distances_to_bible(model.embed_chips([al.chip])[0], bible)
            dists.append(d[who])
            ok = d[who] <= model.threshold and min(d, key=d.__getitem__) == who
            skip = yaw > MAX_YAW or sharp < MIN_SHARPNESS
            right += ok
            yaws.append(yaw)
            sharps.append(sharp)
            unjudged += skip
            wrong += not ok
            wrong_judged += not ok and not skip
            right_unjudged += ok and skip
        n = len(probes)
        print(f"{name:18s} {det / n:8.2f} {right / n:6.2f} {med(dists)} {med(yaws)} "
              f"{(np.median(sharps) if sharps else 0):9.2f} {unjudged:8d} {wrong:5d} {wrong_judged:12d} "
              f"{right_unjudged:14d}")


if __name__ == "__main__":
    main()
