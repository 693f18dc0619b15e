"""check_shots end to end on shots built from real photographs (movie and image sequence)."""

from __future__ import annotations

import pytest

from shotbridge_backend.vision import ShotSpec, VisionError, check_shots
from shotbridge_backend.vision.synth import render_shot, replaced_face_shot, write_movie, write_sequence

SIZE = (640, 360)


@pytest.fixture(scope="module")
def shots(tmp_path_factory, photo, model):
    out = tmp_path_factory.mktemp("shots")
    obama, kit = photo("obama/obama.jpg"), photo("kit_harington/john2.jpeg")
    biden = photo("biden/biden2.jpg")
    paths = {
        # Kit Harington's face pasted over Obama's for frames 21-34 (14 frames, off the 12-frame grid).
        "swap": out / "swap.mp4",
        "clean": out / "clean.mp4",
        "cut": str(out / "cut" / "cut.####.png"),
    }
    write_movie(
        replaced_face_shot(obama, kit, 60, (21, 35), "paste", model, size=SIZE, move="push"), paths["swap"]
    )
    write_movie(render_shot(biden, 40, SIZE, "pan_right", (0.55, 0.35), 0.2), paths["clean"])
    write_sequence(
        replaced_face_shot(obama, biden, 30, (0, 13), "cut", model, size=SIZE, move="push"),
        paths["cut"],
        1001,
    )
    return paths


def test_drift_is_found_with_its_exact_range(shots, eval_bible, model):
    calls = []
    res = check_shots(
        [ShotSpec(name="sh010", media=str(shots["swap"]), characters=["obama"])],
        eval_bible,
        model,
        progress=lambda f, m: calls.append((f, m)),
    )
    shot = res.shots[0]
    assert [(f.start_frame, f.end_frame, f.expected, f.found, f.exact) for f in shot.findings] == [
        (21, 35, "obama", "kit_harington", True)
    ]
    assert shot.drift and shot.state == "drift" and shot.expected_source == "listed"
    assert shot.frames_read == 60  # every frame is looked at
    assert shot.embeddings < 20  # ... but identified only where a track starts, changes or jumps
    scans = [f.frame for f in shot.frames if not f.probe]
    assert scans == [0, 24, 48, 59]  # full detection every 2 x stride while the face is followed, and the last
    assert all(0 <= f <= 1 for f, _ in calls) and calls[-1][0] == 1.0
    drift_faces = [x for f in shot.frames for x in f.faces if x.drift]
    assert drift_faces and all(x.expected == "obama" and x.similarity_to_expected < 0.91 for x in drift_faces)
    (obama,) = shot.characters
    assert (obama.state, obama.frames_seen, obama.frames_drift, obama.frames_unchecked) == ("drift", 46, 14, 0)
    js = res.to_json_dict()
    assert js["schema"] == 2 and js["kind"] == "check_consistency"
    assert js["summary"] == {"consistent": 0, "drift": 1, "unchecked": 0}


def test_clean_shot_and_majority_expectation(shots, eval_bible, model):
    res = check_shots([ShotSpec(name="sh020", media=str(shots["clean"]))], eval_bible, model)
    shot = res.shots[0]
    assert shot.expected == ["biden"] and shot.expected_source == "majority"
    assert not shot.findings and shot.state == "consistent" and shot.frames_read == 40
    assert [f.frame for f in shot.frames if not f.probe] == [0, 24, 39]
    # The bible gives obama two photos and everyone else one: those get a warning, obama none.
    warned = sorted(w.split("'")[1] for w in res.warnings)
    assert warned == ["alex_lacamoire", "biden", "kit_harington", "rose_leslie"]
    assert all("one reference photo: identity is less certain" in w for w in res.warnings)


def test_image_sequence_with_drift_at_the_start_and_a_subrange(shots, eval_bible, model):
    res = check_shots(
        [
            ShotSpec(name="a", media=shots["cut"], characters=["obama"]),
            ShotSpec(name="b", media=shots["cut"], characters=["obama"], start_frame=1015, end_frame=1031),
        ],
        eval_bible,
        model,
    )
    a, b = res.shots
    assert [(f.start_frame, f.end_frame, f.found) for f in a.findings] == [(1001, 1014, "biden")]
    assert not b.findings and b.start_frame == 1015 and b.end_frame == 1031


def test_cancel_from_progress_and_clear_errors(shots, eval_bible, model):
    class Stop(Exception):
        pass

    def cancel(fraction: float, message: str) -> None:
        if fraction > 0.3:
            raise Stop

    with pytest.raises(Stop):
        check_shots([ShotSpec(name="x", media=str(shots["swap"]))], eval_bible, model, progress=cancel)
    with pytest.raises(VisionError, match="not in the bible: zorro"):
        check_shots([ShotSpec(name="x", media=str(shots["swap"]), characters=["zorro"])], eval_bible, model)
    with pytest.raises(VisionError, match="frames 0-99 but its media has frames 0-59"):
        check_shots([ShotSpec(name="x", media=str(shots["swap"]), end_frame=100)], eval_bible, model)
    with pytest.raises(VisionError, match="bible is empty"):
        check_shots([ShotSpec(name="x", media=str(shots["swap"]))], {}, model)
