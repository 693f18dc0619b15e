"""Measure same-person and different-person distances on ../shared/faces and check the threshold.

The figures printed here are the ones in docs/vision.md (run with -s to see them).
"""

from __future__ import annotations

import itertools

import numpy as np

from shotbridge_backend.vision import DLIB_THRESHOLD
from shotbridge_backend.vision.synth import shot_transforms


def _stats(v: list[float]) -> str:
    return (
        f"n={len(v)} min={min(v):.3f} med={np.median(v):.3f} p95={np.quantile(v, 0.95):.3f} max={max(v):.3f}"
    )


def test_threshold_separates_measured_distances(single_face_photos, embedder):
    clean = {p: embedder(p)[0][1] for p in single_face_photos if len(embedder(p)) == 1}
    same, diff = [], []
    for (p1, e1), (p2, e2) in itertools.combinations(clean.items(), 2):
        d = float(np.linalg.norm(e1 - e2))
        (same if single_face_photos[p1] == single_face_photos[p2] else diff).append(d)
    print(f"\nclean photos: same {_stats(same)}; different {_stats(diff)}")
    assert max(same) < DLIB_THRESHOLD < min(diff)

    # Each photo after each shot transform against every clean photo (never itself).
    t_same, t_diff = [], []
    for name in shot_transforms():
        if name == "none":
            continue
        s, d_ = [], []
        for p in clean:
            faces = embedder(p, name)
            if len(faces) != 1:
                continue  # undetected after the transform: counted by the drift evaluation
            for q, e in clean.items():
                if q != p:
                    d = float(np.linalg.norm(faces[0][1] - e))
                    (s if single_face_photos[p] == single_face_photos[q] else d_).append(d)
        print(f"{name:6s}: same {_stats(s)}; different {_stats(d_)}")
        t_same += s
        t_diff += d_
    wrong_same = sum(d > DLIB_THRESHOLD for d in t_same)
    wrong_diff = sum(d <= DLIB_THRESHOLD for d in t_diff)
    print(
        f"transformed: same {_stats(t_same)}; different {_stats(t_diff)}\n"
        f"threshold {DLIB_THRESHOLD}: same called different {wrong_same}/{len(t_same)}, "
        f"different called same {wrong_diff}/{len(t_diff)}"
    )
    for t in (0.5, 0.55, 0.58, 0.6, 0.62, 0.65):
        print(
            f"  threshold {t:.2f}: same>t {sum(d > t for d in t_same)}/{len(t_same)}  "
            f"diff<=t {sum(d <= t for d in t_diff)}/{len(t_diff)}"
        )
    assert wrong_same / len(t_same) < 0.01 and wrong_diff / len(t_diff) < 0.01
