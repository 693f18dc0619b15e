"""Every frame is covered: short swaps at every phase against the full-detection grid, small faces in wide
1080p/4K frames, and shots that cannot be judged come back unchecked (never consistent)."""

from __future__ import annotations

import cv2
import pytest
from skimage import data

from shotbridge_backend.vision import DEFAULT_STRIDE, ShotSpec, check_shots
from shotbridge_backend.vision.synth import render_shot, replaced_face_shot, wide_shot, write_movie

SMALL = (480, 270)  # big enough for a ~130 px face, small enough to decode in no time


def short_swap_ranges(length: int, stride: int = DEFAULT_STRIDE) -> list[tuple[int, int]]:
    """One swap of `length` frames starting at each phase 0..stride-1 of the full-detection grid, 24+ clean
    frames apart."""
    return [(24 * (i + 1) + i, 24 * (i + 1) + i + length) for i in range(stride)]


def test_swap_schedule_covers_every_phase():
    for length in (4, 6, 8, 10):
        ranges = short_swap_ranges(length)
        assert sorted(a % DEFAULT_STRIDE for a, _ in ranges) == list(range(DEFAULT_STRIDE))
        assert all(b - a == length for a, b in ranges)
        assert all(ranges[i][1] + 12 <= ranges[i + 1][0] for i in range(len(ranges) - 1))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("length", "a", "b", "mode"),
    [
        (4, "obama/obama.jpg", "kit_harington/john2.jpeg", "paste"),
        (6, "biden/biden.jpg", "obama/obama-720p.jpg", "paste"),
        (8, "obama/obama1.jpg", "biden/biden2.jpg", "cut"),
        (10, "kit_harington/johnsnow_test1.jpg", "lin_manuel_miranda/lin-manuel-miranda.png", "paste"),
    ],
)
def test_short_swaps_at_every_phase_are_caught_with_exact_ranges(tmp_path, photo, model, eval_bible, length, a, b,
                                                                 mode):
    ranges = short_swap_ranges(length)
    n = ranges[-1][1] + 24
    path = tmp_path / f"swaps{length}.mp4"
    write_movie(replaced_face_shot(photo(a), photo(b), n, ranges, mode, model, size=SMALL, move="push"), path)
    who = {"obama": "obama", "biden": "biden", "kit_harington": "kit_harington"}[a.split("/")[0]]
    res = check_shots([ShotSpec(name="s", media=str(path), characters=[who])], eval_bible, model)
    shot = res.shots[0]
    found = [(f.start_frame, f.end_frame) for f in shot.findings]
    exact_hits = [r for r in ranges if r in found]
    recall = len(exact_hits) / len(ranges)
    print(f"\n{length}-frame swaps ({mode}): recall {recall:.2f}, {shot.embeddings} identity checks for "
          f"{shot.frames_read} frames; missed {sorted(set(ranges) - set(found))}")
    assert recall >= 0.95
    assert set(found) <= set(ranges), "a finding outside the swaps, or a range that is not exact"
    assert all(f.exact for f in shot.findings)
    assert shot.embeddings < shot.frames_read / 3  # identity is not computed on every frame


@pytest.mark.parametrize("face_px", [48, 64, 96, 120])
def test_small_faces_in_a_wide_1080p_shot_are_followed(tmp_path, photo, model, eval_bible, faces_dir, face_px):
    from shotbridge_backend.vision import load_rgb

    path = tmp_path / f"wide{face_px}.mp4"
    write_movie(wide_shot(load_rgb(faces_dir / "obama/obama.jpg"), 6, face_px, (1920, 1080)), path)
    shot = check_shots([ShotSpec(name="w", media=str(path), characters=["obama"])], eval_bible, model).shots[0]
    (obama,) = shot.characters
    assert (shot.state, obama.frames_seen) == ("consistent", 6)
    heights = [f.box[3] - f.box[1] for fr in shot.frames for f in fr.faces]
    assert heights and all(abs(h - face_px) <= 0.25 * face_px for h in heights)


def test_a_short_swap_on_a_48px_face_is_caught(tmp_path, model, eval_bible, faces_dir):
    from shotbridge_backend.vision import load_rgb

    path = tmp_path / "wide_swap.mp4"
    obama, kit = load_rgb(faces_dir / "obama/obama.jpg"), load_rgb(faces_dir / "kit_harington/john2.jpeg")
    write_movie(wide_shot(obama, 18, 48, (1920, 1080), other=kit, replace=[(7, 11)]), path)
    shot = check_shots([ShotSpec(name="w", media=str(path), characters=["obama"])], eval_bible, model).shots[0]
    assert [(f.start_frame, f.end_frame, f.found, f.exact) for f in shot.findings] == [
        (7, 11, "kit_harington", True)
    ]


@pytest.mark.slow
def test_a_48px_face_in_a_4k_frame_is_found(tmp_path, model, eval_bible, faces_dir):
    from shotbridge_backend.vision import load_rgb

    path = tmp_path / "wide4k.mp4"
    write_movie(wide_shot(load_rgb(faces_dir / "biden/biden.jpg"), 4, 48, (3840, 2160), at=(0.7, 0.3)), path)
    shot = check_shots([ShotSpec(name="w", media=str(path), characters=["biden"])], eval_bible, model).shots[0]
    assert shot.state == "consistent" and shot.characters[0].frames_seen == 4


def test_shots_that_cannot_be_judged_are_unchecked_not_consistent(tmp_path, photo, model, eval_bible):
    empty = tmp_path / "empty.mp4"
    write_movie(render_shot(data.coffee(), 20, SMALL, "push"), empty)
    covered = tmp_path / "covered.mp4"
    kit = photo("kit_harington/john2.jpeg")

    def cover(frames):
        """A hand over most of the face (the detector finds no face)."""
        for f in frames:
            f = f.copy()
            faces = model.detect(f)
            for face in faces:
                x0, y0, x1, y1 = face.box
                f[max(0, y0 - 10) : y1 + 10, x0 + (x1 - x0) // 3 : x1 + 10] = (150, 110, 90)
            yield f

    write_movie(cover(render_shot(photo("obama/obama.jpg"), 20, SMALL, "push", (0.5, 0.35))), covered)
    blurred = tmp_path / "blurred.mp4"
    write_movie((cv2.GaussianBlur(f, (0, 0), 12) for f in render_shot(kit, 20, SMALL, "push", (0.5, 0.35))),
                blurred)
    res = check_shots(
        [
            ShotSpec(name="empty_listed", media=str(empty), characters=["obama"]),
            ShotSpec(name="empty", media=str(empty)),
            ShotSpec(name="covered", media=str(covered), characters=["obama"]),
            ShotSpec(name="blurred", media=str(blurred), characters=["obama"]),
        ],
        eval_bible,
        model,
    )
    shots = {s.name: s for s in res.shots}
    assert res.summary == {"consistent": 0, "drift": 0, "unchecked": 4}
    assert all(not s.findings for s in res.shots)
    (c,) = shots["empty_listed"].characters
    assert (c.state, c.reason, c.frames_seen, c.frames_unchecked) == ("unchecked", "no face found", 0, 20)
    assert [(sp.start_frame, sp.end_frame) for sp in c.unchecked] == [(0, 20)]
    assert shots["empty"].reason == "no face found in any frame" and shots["empty"].expected == []
    assert [f.frame for f in shots["empty"].frames if not f.probe] == [0, 12, 19]  # nobody followed: every 12
    assert shots["covered"].characters[0].reason == "no face found"
    # A stranger too blurred to tell apart is not called a drift: the frames are unchecked.
    (c,) = shots["blurred"].characters
    assert (c.state, c.reason, c.frames_drift) == ("unchecked", "face too blurred to judge", 0)


def test_a_shot_shorter_than_the_drift_minimum_is_checked_on_every_frame(tmp_path, photo, model, eval_bible):
    path = tmp_path / "swap.mp4"
    write_movie(replaced_face_shot(photo("obama/obama.jpg"), photo("kit_harington/john2.jpeg"), 12, (4, 12),
                                   "paste", model, size=SMALL, move="push"), path)
    res = check_shots(
        [
            ShotSpec(name="three", media=str(path), characters=["obama"], start_frame=5, end_frame=8),
            ShotSpec(name="two_clean", media=str(path), characters=["obama"], start_frame=1, end_frame=3),
        ],
        eval_bible,
        model,
    )
    three, two = res.shots
    assert three.frames_read == 3 and [(f.start_frame, f.end_frame, f.found) for f in three.findings] == [
        (5, 8, "kit_harington")
    ]
    assert two.state == "consistent" and two.frames_read == 2 and two.characters[0].frames_seen == 2


def test_a_face_turned_too_far_leaves_the_frame_unchecked_not_drifting():
    import numpy as np

    from shotbridge_backend.vision import Face
    from shotbridge_backend.vision.consistency import MAX_YAW, _Obs, _Verdicts, yaw_of

    # dlib's five points: two corners per eye, then the nose base; eyes 60 px apart.
    frontal = np.array([[100, 100], [120, 100], [140, 100], [160, 100], [130, 130]], float)
    turned = frontal.copy()
    turned[4, 0] += 0.6 * 40  # nose base well off the eyes' midpoint: a three-quarter-to-profile head
    assert yaw_of(frontal) < 0.01 and yaw_of(turned) > MAX_YAW

    def label(d):
        return min(d, key=d.get) if d and min(d.values()) <= 0.6 else None

    stranger = {"obama": 0.8, "biden": 0.75}  # nobody in the bible: a drift if it could be judged
    verdicts = _Verdicts(["obama"], label)
    judged = _Obs(0, Face(box=(80, 80, 180, 180), score=1.0), 0, None)
    unjudged = _Obs(1, Face(box=(80, 80, 180, 180), score=1.0), 0, "face turned too far to judge")
    judged.dists = unjudged.dists = stranger
    verdicts.judge(0, [judged], typical=100)
    verdicts.judge(1, [unjudged], typical=100)
    assert verdicts.per_frame == {0: {"obama": "drift"}, 1: {"obama": "face turned too far to judge"}}
    assert judged.drift and not unjudged.drift
    # A turned face that still matches the expected character is seen: a match is evidence either way.
    unjudged.dists = {"obama": 0.4, "biden": 0.8}
    verdicts.judge(2, [unjudged], typical=100)
    assert verdicts.per_frame[2] == {"obama": "seen"}
