"""Character consistency: which bible character each sampled face is, and where a shot drifts.

A shot drifts where a face that should be character X is not X. X is who the shot lists, or else the
character the shot mostly shows. Per sampled frame: the expected characters found there are fine; if
one is missing, the most similar prominent face that is not an expected character is the drift
(unknown person, or another bible character). Extras next to a present character are not drift.

Sampling: every `stride`-th frame plus the shot's last frame. Any run of `stride` consecutive frames holds
exactly one frame on the stride grid, so at stride 12 every drift of 12 frames or more is sampled at least
once. Two cheap second looks make that one sample count: a sampled frame where no face was found while the
shot has faces elsewhere is probed half a stride either side, and every drift run is bisected against its
clean neighbours, so findings carry exact frame ranges, not stride-rounded ones.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import VisionError
from .faces import Bible, FaceModel, distances_to_bible, similarity
from .frames import FrameSource, open_media, sample_frames

# 12 frames = half a second at 24 fps: the guarantee above for drifts >= 12 frames, and a 2-minute 24 fps
# shot is 241 sampled frames, ~40 s on 2 cores with the dlib model (bench/bench_consistency.py).
DEFAULT_STRIDE = 12
# A face smaller than this fraction of the expected character's typical face height is a background extra.
MIN_FACE_RATIO = 0.5
# Share of face-bearing frames the most frequent character must reach to become the shot's expectation.
MAJORITY_SHARE = 0.5

Progress = Callable[[float, str], None]


class ShotSpec(BaseModel):
    """One shot to check: its media and frame range (media frame numbers, end exclusive)."""

    name: str
    media: str = Field(description="Movie path, image-sequence pattern (#### or %04d) or still image")
    start_frame: int | None = Field(default=None, description="First frame (default: the media's first)")
    end_frame: int | None = Field(default=None, description="Exclusive end (default: after the media's last)")
    characters: list[str] = Field(default_factory=list, description="Who should be seen; empty: the majority")


class FaceResult(BaseModel):
    box: tuple[int, int, int, int] = Field(description="x0, y0, x1, y1 in full-resolution pixels")
    score: float
    character: str | None = Field(description="Matched bible character; None: unknown person")
    nearest: str | None = Field(description="Nearest bible character even when beyond the threshold")
    distance: float = Field(description="Euclidean distance to the nearest reference embedding")
    similarity: float = Field(description="1 - distance^2/4 (cosine for dlib's sqrt(2)-norm embeddings)")
    similarity_to_expected: float | None = Field(
        default=None, description="Best similarity to a character the shot expects (None: no expectation)"
    )
    drift: bool = False
    expected: str | None = Field(default=None, description="Who this face should have been, when it drifts")


class FrameResult(BaseModel):
    frame: int
    faces: list[FaceResult] = Field(default_factory=list)
    drift: bool = False
    probe: bool = Field(default=False, description="Looked at to confirm or bound a finding, off the grid")


class Finding(BaseModel):
    start_frame: int
    end_frame: int = Field(description="Exclusive")
    expected: str
    found: str | None = Field(description="The bible character the face matched; None: an unknown person")
    frames: list[int] = Field(description="Frames looked at that show the drift")
    similarity: float = Field(description="Best similarity of the drifting face to the expected character")
    exact: bool = Field(
        description="True when the frames just outside the range were looked at and are clean"
    )
    message: str


class ShotResult(BaseModel):
    name: str
    media: str
    start_frame: int
    end_frame: int
    expected: list[str]
    expected_source: Literal["listed", "majority", "none"]
    frames: list[FrameResult]
    findings: list[Finding]
    drift: bool
    frames_read: int
    seconds: float


class ConsistencyResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    kind: Literal["check_consistency"] = "check_consistency"
    schema_version: int = Field(default=1, alias="schema")
    model: str
    threshold: float
    stride: int
    shots: list[ShotResult]

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


class _Analysed:
    """A frame's faces with their distances to every character (kept until classification)."""

    def __init__(self, frame: int, faces: list[FaceResult], dists: list[dict[str, float]], probe: bool):
        self.frame, self.faces, self.dists, self.probe = frame, faces, dists, probe
        self.drift = False
        self.clean = False  # an expected character is there and nothing drifts


class _Checker:
    def __init__(self, model: FaceModel, bible: Bible, threshold: float, report: Callable[[str], None]):
        self.model, self.bible, self.threshold, self.report = model, bible, threshold, report
        self.reads = 0

    def analyse(self, source: FrameSource, frame: int, probe: bool = False) -> _Analysed:
        img = source.read(frame)
        self.reads += 1
        faces = self.model.detect(img)
        embs = self.model.embed(img, faces) if faces else np.zeros((0, self.model.dim))
        results, dists = [], []
        for face, e in zip(faces, embs, strict=True):
            d = distances_to_bible(e, self.bible)
            nearest = min(d, key=d.__getitem__) if d else None
            dist = d[nearest] if nearest else float("inf")
            results.append(
                FaceResult(
                    box=face.box,
                    score=round(face.score, 4),
                    character=nearest if dist <= self.threshold else None,
                    nearest=nearest,
                    distance=round(dist, 4),
                    similarity=round(similarity(dist), 4),
                )
            )
            dists.append(d)
        self.report(f"frame {frame}: {len(faces)} face(s)")
        return _Analysed(frame, results, dists, probe)


def _expectation(spec: ShotSpec, frames: Sequence[_Analysed]) -> tuple[list[str], str]:
    if spec.characters:
        return list(spec.characters), "listed"
    with_faces = [a for a in frames if a.faces]
    counts = Counter(c for a in with_faces for c in {f.character for f in a.faces} if c)
    if counts:
        name, n = counts.most_common(1)[0]
        if n >= MAJORITY_SHARE * len(with_faces):
            return [name], "majority"
    return [], "none"


def _typical_height(frames: Iterable[_Analysed], expected: Sequence[str]) -> float:
    heights = [f.box[3] - f.box[1] for a in frames for f in a.faces if f.character in expected]
    return float(np.median(heights)) if heights else 0.0


def _classify(frames: Sequence[_Analysed], expected: Sequence[str], typical: float | None = None) -> None:
    """Mark drifting faces per frame (see the module docstring for the rule)."""
    if typical is None:
        typical = _typical_height(frames, expected)
    for a in frames:
        a.drift = a.clean = False
        for f, d in zip(a.faces, a.dists, strict=True):
            f.drift, f.expected = False, None
            near = [d[x] for x in expected if x in d]
            f.similarity_to_expected = round(similarity(min(near)), 4) if near else None
        present = {f.character for f in a.faces if f.character in expected}
        missing = [x for x in expected if x not in present]
        candidates = [
            i
            for i, f in enumerate(a.faces)
            if f.character not in expected and (f.box[3] - f.box[1]) >= MIN_FACE_RATIO * typical
        ]
        # Pair missing characters with candidate faces, most similar first.
        pairs = sorted((a.dists[i].get(x, float("inf")), i, x) for i in candidates for x in missing)
        used_faces: set[int] = set()
        used_chars: set[str] = set()
        for _, i, x in pairs:
            if i in used_faces or x in used_chars:
                continue
            used_faces.add(i)
            used_chars.add(x)
            a.faces[i].drift, a.faces[i].expected = True, x
            a.drift = True
        a.clean = bool(present) and not a.drift


def _state(a: _Analysed) -> str:
    """drift, clean (an expected character and no drift), or blank (says nothing either way)."""
    return "drift" if a.drift else ("clean" if a.clean else "blank")


def _runs(frames: Sequence[_Analysed]) -> list[list[_Analysed]]:
    """Consecutive drift frames, bridging blank frames between them."""
    runs: list[list[_Analysed]] = []
    current: list[_Analysed] = []
    for a in frames:
        s = _state(a)
        if s == "drift":
            current.append(a)
        elif s == "clean" and current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _findings(frames: Sequence[_Analysed]) -> list[Finding]:
    by_frame = {a.frame: i for i, a in enumerate(frames)}
    out = []
    for run in _runs(frames):
        faces = [f for a in run for f in a.faces if f.drift]
        expected = Counter(f.expected for f in faces).most_common(1)[0][0] or ""
        found = Counter(f.character for f in faces).most_common(1)[0][0]
        sims = [
            similarity(a.dists[i].get(expected, float("inf")))
            for a in run
            for i, f in enumerate(a.faces)
            if f.drift
        ]
        first, last = run[0], run[-1]
        before = frames[by_frame[first.frame] - 1] if by_frame[first.frame] > 0 else None
        after = frames[by_frame[last.frame] + 1] if by_frame[last.frame] + 1 < len(frames) else None
        exact = (before is None or (_state(before) == "clean" and before.frame == first.frame - 1)) and (
            after is None or (_state(after) == "clean" and after.frame == last.frame + 1)
        )
        who = found or "an unknown person"
        out.append(
            Finding(
                start_frame=first.frame,
                end_frame=last.frame + 1,
                expected=expected,
                found=found,
                frames=[a.frame for a in run],
                similarity=round(max(sims), 4) if sims else 0.0,
                exact=exact,
                message=f"Frames {first.frame}-{last.frame}: expected {expected}, found {who}.",
            )
        )
    return out


def check_shot(
    spec: ShotSpec,
    source: FrameSource,
    bible: Bible,
    model: FaceModel,
    stride: int = DEFAULT_STRIDE,
    threshold: float | None = None,
    probe: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> ShotResult:
    """Check one shot whose media is already open (see `check_shots`)."""
    t0 = time.perf_counter()
    start = source.first if spec.start_frame is None else spec.start_frame
    end = source.last + 1 if spec.end_frame is None else spec.end_frame
    if start < source.first or end > source.last + 1 or end <= start:
        raise VisionError(
            f"Shot '{spec.name}' asks for frames {start}-{end - 1} but its media has frames "
            f"{source.first}-{source.last}: fix the shot's range or its media."
        )
    grid = sample_frames(start, end, stride)
    state = {"done": 0, "probes": 0}

    def report(msg: str) -> None:
        state["done"] += 1
        if progress:
            # The grid is known; probes are not, so they share the last tenth.
            if state["done"] <= len(grid):
                frac = 0.9 * state["done"] / len(grid)
            else:
                state["probes"] += 1
                frac = 0.9 + 0.1 * (1 - 1 / (1 + 0.1 * state["probes"]))
            progress(frac, f"{spec.name}: {msg}")

    checker = _Checker(model, bible, model.threshold if threshold is None else threshold, report)
    seen: dict[int, _Analysed] = {}
    for f in grid:
        seen[f] = checker.analyse(source, f)
    expected, source_kind = _expectation(spec, list(seen.values()))

    def ordered() -> list[_Analysed]:
        return [seen[k] for k in sorted(seen)]

    def look(f: int) -> _Analysed:
        if f not in seen:
            seen[f] = checker.analyse(source, f, probe=True)
        return seen[f]

    if probe and expected and stride > 1:
        _classify(ordered(), expected)
        # Second look half a stride either side of blank grid frames, when the shot does show faces.
        if any(a.faces for a in seen.values()):
            for f in [g for g in grid if _state(seen[g]) == "blank"]:
                for p in (f - stride // 2, f + stride // 2):
                    if start <= p < end:
                        look(p)
            _classify(ordered(), expected)
        # Bisect each drift run's edges against its clean neighbours for exact ranges.
        for _ in range(2):  # a probe can reveal a new run; a second pass bounds it
            frames = ordered()
            for run in _runs(frames):
                idx = {a.frame: i for i, a in enumerate(frames)}
                i0, i1 = idx[run[0].frame], idx[run[-1].frame]
                if i0 > 0:
                    _bisect(look, frames[i0 - 1].frame, run[0].frame, expected, seen)
                if i1 + 1 < len(frames):
                    _bisect(look, run[-1].frame, frames[i1 + 1].frame, expected, seen, rising=False)
            _classify(ordered(), expected)
    else:
        _classify(ordered(), expected)

    frames = ordered()
    findings = _findings(frames) if expected else []
    return ShotResult(
        name=spec.name,
        media=spec.media,
        start_frame=start,
        end_frame=end,
        expected=expected,
        expected_source=source_kind,  # type: ignore[arg-type]
        frames=[FrameResult(frame=a.frame, faces=a.faces, drift=a.drift, probe=a.probe) for a in frames],
        findings=findings,
        drift=bool(findings),
        frames_read=checker.reads,
        seconds=round(time.perf_counter() - t0, 3),
    )


def _bisect(
    look: Callable[[int], _Analysed],
    lo: int,
    hi: int,
    expected: Sequence[str],
    seen: Mapping[int, _Analysed],
    rising: bool = True,
) -> None:
    """Narrow the edge between a clean frame and a drift frame (rising: clean lo, drift hi)."""
    typical = _typical_height(seen.values(), expected)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        a = look(mid)
        _classify([a], expected, typical)
        s = _state(a)
        if s == "blank":
            return  # no face there: the edge cannot be placed closer
        if (s == "drift") == rising:
            hi = mid
        else:
            lo = mid


def check_shots(
    shots: Sequence[ShotSpec],
    bible: Bible,
    model: FaceModel | None = None,
    stride: int = DEFAULT_STRIDE,
    progress: Progress | None = None,
    threshold: float | None = None,
    probe: bool = True,
    open_source: Callable[[ShotSpec], FrameSource] | None = None,
) -> ConsistencyResult:
    """Check every shot against the bible. `progress(fraction, message)` is called per frame read and
    may raise to cancel (the exception propagates; media are closed)."""
    if model is None:
        from .faces import DlibFaceModel

        model = DlibFaceModel()
    if stride < 1:
        raise VisionError(f"stride must be 1 or more frames, got {stride}.")
    if not bible:
        raise VisionError("The character bible is empty: add at least one character with a reference image.")
    missing = sorted({c for s in shots for c in s.characters} - set(bible))
    if missing:
        raise VisionError(
            f"Shots list characters that are not in the bible: {', '.join(missing)}. Add them to the bible "
            "or fix the shots' character lists."
        )
    results = []
    n = max(1, len(shots))
    for i, spec in enumerate(shots):
        src = open_source(spec) if open_source else open_media(spec.media)
        try:

            def sub(frac: float, msg: str, i: int = i) -> None:
                if progress:
                    progress((i + frac) / n, msg)

            results.append(check_shot(spec, src, bible, model, stride, threshold, probe, sub))
        finally:
            src.close()
    return ConsistencyResult(
        model=model.name,
        threshold=model.threshold if threshold is None else threshold,
        stride=stride,
        shots=results,
    )
