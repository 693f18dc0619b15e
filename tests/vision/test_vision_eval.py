"""Evaluation: precision and recall of drift detection on real photographs under shot transforms.

Two levels, both printed (run with -s):
- frames: every probe photo (not a bible reference) after each transform (scale, crop, blur, noise, colour
  grade, JPEG, all together), checked against every bible character as the expected one. A drift case is a
  frame whose person is not the expected character; flagged when the frame's face does not match them.
- shots: movies built from the photos with camera moves, a different real person's face for 12-20 frames
  (off the sampling grid), transformed frames, run through check_shots at the default stride.
Target >= 0.95 for both figures; the asserted floors leave a little room for platform differences in dlib.
"""

from __future__ import annotations

import pytest

from shotbridge_backend.vision import DEFAULT_STRIDE, ShotSpec, check_shots, match
from shotbridge_backend.vision.synth import render_shot, replaced_face_shot, shot_transforms, write_movie

FLOOR = 0.93


def _probes(single_face_photos: dict[str, str], layout) -> dict[str, str | None]:
    bible, groups = layout
    refs = {p for paths in bible.values() for p in paths}
    probes: dict[str, str | None] = {p: who for p, who in single_face_photos.items() if p not in refs}
    for rel, people in groups.items():
        probes.update({f"{rel}#{i}": who for i, who in enumerate(people)})
    return {p: (who if who in bible else None) for p, who in probes.items()}


def _pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def test_frame_level_drift_precision_recall(single_face_photos, embedder, eval_bible, eval_layout):
    probes = _probes(single_face_photos, eval_layout)
    totals = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    print()
    for tname in shot_transforms():
        c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        for probe, who in probes.items():
            faces = embedder(probe, tname)
            main = max(faces, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]), default=None)
            found = match(main[1], eval_bible).name if main is not None else None
            for expected in eval_bible:
                truth = who != expected
                flagged = main is not None and found != expected
                key = ("tp" if flagged else "fn") if truth else ("fp" if flagged else "tn")
                c[key] += 1
        p, r = _pr(c["tp"], c["fp"], c["fn"])
        print(f"frames {tname:6s}: precision {p:.3f} recall {r:.3f}  {c}")
        for k in totals:
            totals[k] += c[k]
    p, r = _pr(totals["tp"], totals["fp"], totals["fn"])
    print(f"frames overall: precision {p:.3f} recall {r:.3f}  {totals}  ({len(probes)} probes)")
    assert p >= FLOOR and r >= FLOOR


# (character photo, expected, other person's photo, replaced range, mode, transform)
SHOTS = [
    ("obama/obama.jpg", "obama", "kit_harington/john2.jpeg", (13, 27), "paste", "none"),
    ("obama/obama1.jpg", "obama", "lin_manuel_miranda/lin-manuel-miranda.png", (25, 37), "paste", "jpeg"),
    ("biden/biden.jpg", "biden", "obama/obama-720p.jpg", (5, 22), "paste", "blur"),
    (
        "alex_lacamoire/alex_lacamoire1.jpg",
        "alex_lacamoire",
        "kit_harington/johnsnow_test1.jpg",
        (30, 46),
        "cut",
        "noise",
    ),
    (
        "kit_harington/johnsnow_test1.jpg",
        "kit_harington",
        "alex_lacamoire/alex-lacamoire.png",
        (17, 33),
        "paste",
        "grade",
    ),
    (
        "rose_leslie/img2.jpg",
        "rose_leslie",
        "lin_manuel_miranda/lin-manuel-miranda.png",
        (34, 48),
        "cut",
        "all",
    ),
    ("obama/obama3.jpg", "obama", "biden/biden2.jpg", (1, 13), "cut", "crop"),
    ("alex_lacamoire/alex_lacamoire1.jpg", "alex_lacamoire", "obama/obama.jpg", (20, 38), "paste", "all"),
    # clean shots: any finding is a false positive
    ("obama/obama_small.jpg", "obama", None, None, "cut", "all"),
    ("biden/biden.jpg", "biden", None, None, "cut", "jpeg"),
    ("kit_harington/john2.jpeg", "kit_harington", None, None, "cut", "blur"),
    ("rose_leslie/img2.jpg", "rose_leslie", None, None, "cut", "grade"),
]


@pytest.mark.slow
def test_shot_level_drift_precision_recall(tmp_path, photo, model, eval_bible):
    transforms = shot_transforms()
    specs, truth = [], {}
    for i, (a, who, b, rng, mode, tname) in enumerate(SHOTS):
        name = f"sh{i:02d}_{tname}"
        if b is None:
            frames = render_shot(photo(a), 48, (640, 360), "drift", (0.5, 0.4), 0.15)
        else:
            frames = replaced_face_shot(
                photo(a), photo(b), 48, rng, mode, model, size=(640, 360), move="push"
            )
        write_movie((transforms[tname](f) for f in frames), tmp_path / f"{name}.mp4")
        specs.append(ShotSpec(name=name, media=str(tmp_path / f"{name}.mp4"), characters=[who]))
        truth[name] = rng
    res = check_shots(specs, eval_bible, model, stride=DEFAULT_STRIDE)
    tp = fp = fn = 0
    print()
    for shot in res.shots:
        rng = truth[shot.name]
        hits = [f for f in shot.findings if rng and f.start_frame < rng[1] and rng[0] < f.end_frame]
        fp += len(shot.findings) - len(hits)
        if rng:
            tp += bool(hits)
            fn += not hits
        found = [(f.start_frame, f.end_frame, f.found) for f in shot.findings]
        print(f"{shot.name:16s} truth {rng}  found {found}  frames read {shot.frames_read}")
    p, r = _pr(tp, fp, fn)
    print(f"shots: precision {p:.3f} recall {r:.3f}  tp={tp} fp={fp} fn={fn}")
    assert p >= FLOOR and r >= FLOOR
