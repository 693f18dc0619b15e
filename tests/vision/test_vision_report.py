"""The HTML report is self-contained and shows drift, the chart and the look figures."""

from __future__ import annotations

import re

import numpy as np
from skimage import data

from shotbridge_backend.vision import (
    CDL,
    CharacterResult,
    ConsistencyResult,
    FaceResult,
    Finding,
    FrameResult,
    LookResult,
    ShotResult,
    Span,
    apply_cdl,
    match_look,
    write_report,
)


class ArrayMedia:
    def __init__(self, frames: dict[str, np.ndarray]):
        self.frames = frames

    def frame(self, media: str, frame: int) -> np.ndarray | None:
        return self.frames.get(media)


def _face(drift: bool) -> FaceResult:
    return FaceResult(
        box=(100, 50, 220, 170),
        score=1.5,
        character=None if drift else "obama",
        nearest="obama",
        distance=0.8 if drift else 0.3,
        similarity=0.84 if drift else 0.98,
        similarity_to_expected=0.84 if drift else 0.98,
        drift=drift,
        expected="obama" if drift else None,
    )


def test_report_is_self_contained_and_flags_drift(tmp_path):
    frames = [FrameResult(frame=f, faces=[_face(12 <= f < 30)], drift=12 <= f < 30) for f in range(0, 48, 6)]
    shot = ShotResult(
        name="sh010",
        media="a",
        start_frame=0,
        end_frame=48,
        expected=["obama"],
        expected_source="listed",
        state="drift",
        frames=frames,
        findings=[
            Finding(
                start_frame=12,
                end_frame=30,
                expected="obama",
                found=None,
                frames=[12, 18, 24],
                similarity=0.84,
                exact=False,
                message="m",
            )
        ],
        drift=True,
        frames_read=8,
        seconds=1.0,
    )
    blind = ShotResult(
        name="sh020",
        media="a",
        start_frame=0,
        end_frame=24,
        expected=["biden"],
        expected_source="listed",
        state="unchecked",
        reason="biden: face turned too far to judge",
        characters=[
            CharacterResult(
                name="biden",
                state="unchecked",
                reason="face turned too far to judge",
                frames_seen=0,
                frames_drift=0,
                frames_unchecked=24,
                unchecked=[Span(start_frame=0, end_frame=24, reason="face turned too far to judge")],
            )
        ],
        frames=[FrameResult(frame=0, unchecked="face turned too far to judge")],
        findings=[],
        drift=False,
        frames_read=24,
        seconds=0.5,
    )
    res = ConsistencyResult(model="dlib", threshold=0.6, stride=6, shots=[blind, shot])
    img = data.coffee()
    look = LookResult(
        reference="ref",
        reference_media="a",
        targets=[match_look([img], [apply_cdl(img / 255.0, CDL(slope=(1.2, 1, 0.8)))], "graded", media="a")],
    )
    path = write_report([res.to_json_dict(), look.to_json_dict()], ArrayMedia({"a": img}), tmp_path)
    page = path.read_text()
    assert page.startswith("<!doctype html>")
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched when opened
    assert page.count("data:image/jpeg;base64,") >= 8 + 3
    assert "DRIFT" in page and "Frames 12–29" in page and "threshold 0.91" in page
    assert 'class="shot drift"' in page and "MATCHED" in page and "ΔE2000" in page
    # the unchecked shot says so, with the reason and the frames, and is listed after the drifting one
    assert 'class="shot unchecked"' in page and "UNCHECKED" in page
    assert "biden unchecked</b> · 24 frame(s): 0–23 (face turned too far to judge)" in page
    assert page.index("sh010") < page.index("sh020")
    assert re.search(r"Shots unchecked</small><b>1<", page)
