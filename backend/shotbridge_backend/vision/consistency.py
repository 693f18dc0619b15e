"""Character consistency: which bible character each face is on every frame, and where a shot drifts.

Every frame of a shot is looked at, cheaply (docs/vision.md, "Every frame"): faces are found by a full
detection every `stride` frames and followed in between by a detector run on each face's neighbourhood
only; each followed face is aligned on every frame (a 150x150 chip) and compared with the previous frame's
and with the chip last identified by a cheap normalised correlation. The identity network (the costly
step) runs only where a track starts, reappears or jumps, where its chip changes, and at least every
`stride` frames; frames in between inherit the identity. When an identity check disagrees with the last
one, the frames between are bisected on their kept chips, so a finding's range is exact.

A shot drifts where a face that should be character X is not X. X is who the shot lists, or else the
character the shot mostly shows. Per frame: the expected characters found there are fine; if one is
missing, the most similar prominent face that is not an expected character is the drift (unknown person,
or another bible character). Extras next to a present character are not drift. A face too small, turned
too far or too blurred to judge never drifts: it leaves the frame unchecked.

Three states per shot and per character: consistent (seen and matched), drift (with ranges), unchecked
(never seen well enough to judge, with the reason and the frames).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import VisionError
from .faces import Bible, Face, TrackingFaceModel, distances_to_bible, similarity
from .frames import FrameSource, open_media, stream

# Frames between full detections while nobody is followed (twice that while a face is followed), and the
# longest a lost face is looked for around its last place. A change in a followed face is caught on the
# frame it happens by the chip correlation (below), not by this spacing.
DEFAULT_STRIDE = 12
# A followed face whose chip has not changed is identified again after this many frames anyway (a safety
# net for change too gradual for the correlation; ~70 ms each, so every frame's budget matters).
REIDENTIFY_EVERY = 48
# While nobody is being followed, the small-face second pass runs at most this often at 1080p (it costs
# ~0.6 s there). Its cost grows with the pixel count, so larger frames space it by the square root of their
# size over 1080p (4K: every 96 frames, ~2.5 s a pass); after a pass that finds nobody the spacing doubles,
# up to twice that (a small face entering an empty shot is found within 4 s at 1080p, 8 s at 4K).
SMALL_PASS_EVERY = 48
SMALL_PASS_BACKOFF = 2
_HD_PIXELS = 1920 * 1080
# Normalised correlation of 40x40 grey chips: consecutive frames of one face measured >= 0.97 under camera
# moves; a face replaced by another person's measured 0.24-0.27 (docs/vision.md). Below these, identify again.
SPIKE_NCC = 0.85  # against the previous frame
DRIFT_NCC = 0.80  # against the chip last identified
# A face smaller than this fraction of the expected character's typical face height is a background extra.
MIN_FACE_RATIO = 0.5
# Share of face-bearing frames the most frequent character must reach to become the shot's expectation.
MAJORITY_SHARE = 0.5
# Beyond these a face is not judged (it leaves the frame unchecked rather than drifting): box height in
# frame pixels; nose offset from the eyes' midpoint in inter-ocular distances (<= 0.19 on every photo in
# ../shared/faces; ~0.45 is a head turned about 50 degrees, where HOG stops finding faces anyway); chip
# sharpness (the weaker directional gradient energy over the contrast, see _signature). Measured by
# bench/bench_face_conditions.py: median 4.6 sharp, 2.6 at Gaussian blur sigma 5 (93 % still identified),
# 1.75 at sigma 8 (20 % identified), 2.2 at 32 px motion blur (40 %); 2.0 leaves 6 of the 10 wrong faces at
# sigma 8 unjudged, at the price of 1, 3 and 5 of 14-15 right ones at sigma 1.5, 3 and 5. A coarse gate.
MIN_JUDGE_PX = 40
MAX_YAW = 0.45
MIN_SHARPNESS = 2.0

State = Literal["consistent", "drift", "unchecked"]
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
    identified: bool = Field(default=True, description="Embedded on this frame (False: inherited from its track)")
    track: int = Field(default=0, description="The face track this face belongs to")
    judgeable: str | None = Field(default=None, description="Why the face cannot be judged (None: it can)")


class FrameResult(BaseModel):
    frame: int
    faces: list[FaceResult] = Field(default_factory=list)
    drift: bool = False
    unchecked: str | None = Field(default=None, description="Why an expected character is not judged here")
    probe: bool = Field(default=False, description="Not a full-detection frame (identified by its track)")


class Span(BaseModel):
    start_frame: int
    end_frame: int = Field(description="Exclusive")
    reason: str


class CharacterResult(BaseModel):
    name: str
    state: State
    reason: str | None = Field(default=None, description="Why unchecked (the most common reason)")
    frames_seen: int = Field(description="Frames where the character was seen and matched")
    frames_drift: int
    frames_unchecked: int
    unchecked: list[Span] = Field(default_factory=list, description="Frames where the character was not judged")


class Finding(BaseModel):
    start_frame: int
    end_frame: int = Field(description="Exclusive")
    expected: str
    found: str | None = Field(description="The bible character the face matched; None: an unknown person")
    frames: list[int] = Field(description="Frames whose face was identified and shows the drift")
    similarity: float = Field(description="Best similarity of the drifting face to the expected character")
    exact: bool = Field(description="True when the frames just outside the range are clean or the shot's ends")
    message: str


class ShotResult(BaseModel):
    name: str
    media: str
    start_frame: int
    end_frame: int
    expected: list[str]
    expected_source: Literal["listed", "majority", "none"]
    state: State
    reason: str | None = Field(default=None, description="Why the shot is unchecked")
    characters: list[CharacterResult] = Field(default_factory=list)
    frames: list[FrameResult] = Field(description="Full-detection frames, identified frames and range edges")
    findings: list[Finding]
    drift: bool
    frames_read: int = Field(description="Frames decoded and looked at (every frame of the shot)")
    embeddings: int = Field(default=0, description="Identity-network runs")
    seconds: float


class ConsistencyResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    kind: Literal["check_consistency"] = "check_consistency"
    schema_version: int = Field(default=2, alias="schema")
    model: str
    threshold: float
    stride: int
    summary: dict[str, int] = Field(default_factory=dict, description="Shots per state")
    warnings: list[str] = Field(default_factory=list)
    shots: list[ShotResult]

    def to_json_dict(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


# --- following faces -----------------------------------------------------------------------------------


class _Obs:
    """One face on one frame, with the distances of the identity check that covers it."""

    __slots__ = ("frame", "face", "track", "dists", "embedded", "unjudgeable", "drift", "expected")

    def __init__(self, frame: int, face: Face, track: int, unjudgeable: str | None):
        self.frame, self.face, self.track, self.unjudgeable = frame, face, track, unjudgeable
        self.dists: dict[str, float] = {}
        self.embedded = False
        self.drift = False
        self.expected: str | None = None

    @property
    def height(self) -> int:
        return self.face.box[3] - self.face.box[1]


class _Track:
    def __init__(self, tid: int):
        self.id = tid
        self.box: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.last = -(10**9)
        self.missed = 0
        self.alive = True
        self.prev_sig: np.ndarray | None = None
        self.ref_sig: np.ndarray | None = None
        self.emb: np.ndarray | None = None
        self.dists: dict[str, float] = {}
        self.embed_frame = 0
        self.pending: list[tuple[_Obs, np.ndarray]] = []  # frames since the last identity check, with chips


def _signature(chip: np.ndarray) -> tuple[np.ndarray, float]:
    """A 40x40 grey chip, zero-mean and unit-norm (for correlation), and the chip's sharpness."""
    import cv2

    grey = cv2.resize(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), (40, 40), interpolation=cv2.INTER_AREA)
    # Sharpness at 40 px, about the smallest face's own resolution, so a small sharp face is not "blurred";
    # the weaker of the horizontal and vertical gradient energies, so motion blur (one direction) counts.
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    sharp = float(min(np.mean(gx * gx), np.mean(gy * gy)) / (float(grey.var()) + 1.0))  # contrast-free
    g = grey.astype(np.float32).ravel()
    g -= g.mean()
    return g / (float(np.linalg.norm(g)) + 1e-6), sharp


def yaw_of(landmarks: np.ndarray) -> float:
    """How far the face is turned: the nose base's offset from the eyes' midpoint along the eye line, in
    inter-ocular distances (dlib's five points: two corners per eye, then the nose base)."""
    e1, e2, nose = landmarks[0:2].mean(0), landmarks[2:4].mean(0), landmarks[4]
    axis = e2 - e1
    iod = float(np.linalg.norm(axis)) + 1e-6
    return float(abs(np.dot(nose - (e1 + e2) / 2, axis / iod)) / iod)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class _Follower:
    """Runs the per-frame pipeline over a shot's frames and keeps every face observation."""

    def __init__(self, model: TrackingFaceModel, bible: Bible, threshold: float, stride: int, bgr: bool = False):
        self.model, self.bible, self.threshold, self.stride = model, bible, threshold, stride
        # Frames in BGR order: detection and landmarks do not depend on channel order (measured: same boxes,
        # same landmarks, same embedding), so only the chips are converted.
        self.bgr = bgr
        self.tracks: list[_Track] = []
        self.by_frame: dict[int, list[_Obs]] = {}
        self.scans: set[int] = set()
        self.embeddings = 0
        self.last_small = -(10**9)
        self.small_backoff = 1

    def _identify(self, chip: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        self.embeddings += 1
        e = self.model.embed_chips([chip])[0]
        return e, distances_to_bible(e, self.bible)

    def _label(self, dists: dict[str, float]) -> str | None:
        if not dists:
            return None
        nearest = min(dists, key=dists.__getitem__)
        return nearest if dists[nearest] <= self.threshold else None

    def step(self, f: int, img: np.ndarray, scan: bool) -> None:
        live = [t for t in self.tracks if t.alive]
        seen: dict[int, Face] = {}
        tried: set[int] = set()

        def near(t: _Track) -> None:
            tried.add(t.id)
            face = self.model.detect_near(img, t.box)
            if face is not None and all(_iou(face.box, o.box) < 0.5 for o in seen.values()):
                seen[t.id] = face

        if not scan:
            for t in live:
                near(t)
            # A face just lost (a cut, a jump): look at the whole frame, once per loss, not on every frame
            # a face stays away (turned, occluded), which would cost a full detection each frame.
            scan = any(t.id not in seen and t.missed == 0 for t in live)
        if scan:
            self.scans.add(f)
            faces = self.model.detect(img)
            every = SMALL_PASS_EVERY * max(1.0, img.shape[0] * img.shape[1] / _HD_PIXELS) ** 0.5
            if faces or live:
                self.small_backoff = 1
            elif f - self.last_small >= every * self.small_backoff:
                self.last_small = f
                faces = self.model.detect_small(img)
                self.small_backoff = 1 if faces else min(SMALL_PASS_BACKOFF, self.small_backoff * 2)
            for face in faces:
                if any(_iou(face.box, o.box) >= 0.5 for o in seen.values()):
                    continue
                free = [t for t in live if t.id not in seen]
                best = max(free, key=lambda t: _iou(t.box, face.box), default=None)
                if best is not None and _iou(best.box, face.box) >= 0.3:
                    seen[best.id] = face
                else:
                    t = _Track(len(self.tracks))
                    self.tracks.append(t)
                    seen[t.id] = face
            for t in live:
                if t.id not in seen and t.id not in tried:
                    near(t)
        for t in live:
            if t.id not in seen:
                t.missed += 1
                t.alive = t.missed <= self.stride
        obs = [self._observe(self.tracks[tid], f, img, face) for tid, face in seen.items()]
        self.by_frame[f] = sorted(obs, key=lambda o: (o.face.box[0], o.face.box[1]))

    def _observe(self, t: _Track, f: int, img: np.ndarray, face: Face) -> _Obs:
        aligned = self.model.align(img, face)
        if self.bgr:
            aligned = aligned._replace(chip=np.ascontiguousarray(aligned.chip[:, :, ::-1]))
        sig, sharp = _signature(aligned.chip)
        reason = None
        if face.height < MIN_JUDGE_PX:
            reason = "face too small to judge"
        elif yaw_of(aligned.landmarks) > MAX_YAW:
            reason = "face turned too far to judge"
        elif sharp < MIN_SHARPNESS:
            reason = "face too blurred to judge"
        o = _Obs(f, face, t.id, reason)
        h = max(1, face.height)
        moved = abs((face.box[0] + face.box[2] - t.box[0] - t.box[2]) / 2) + abs(
            (face.box[1] + face.box[3] - t.box[1] - t.box[3]) / 2
        )
        jump = t.last != f - 1 or moved > 0.5 * h
        changed = t.prev_sig is None or float(sig @ t.prev_sig) < SPIKE_NCC
        drifted = t.ref_sig is None or float(sig @ t.ref_sig) < DRIFT_NCC
        if t.emb is None or jump or changed or drifted or f - t.embed_frame >= REIDENTIFY_EVERY:
            e, d = self._identify(aligned.chip)
            if t.emb is not None and t.pending and self._differs(t.emb, t.dists, e, d):
                self._bisect(t, e, d)
            t.emb, t.dists, t.ref_sig, t.embed_frame, t.pending = e, d, sig, f, []
            o.dists, o.embedded = d, True
        else:
            o.dists = t.dists
            t.pending.append((o, aligned.chip))
        t.prev_sig, t.box, t.last, t.missed = sig, face.box, f, 0
        return o

    def _differs(self, e0: np.ndarray, d0: dict[str, float], e1: np.ndarray, d1: dict[str, float]) -> bool:
        return self._label(d0) != self._label(d1) or float(np.linalg.norm(e0 - e1)) > self.threshold

    def _bisect(self, t: _Track, e_new: np.ndarray, d_new: dict[str, float]) -> None:
        """The frames since the track's last check changed identity somewhere: find where, on the kept chips
        (no decoding), assuming one change. The frame just before is tried first: a sudden change is there."""
        old_e, old_d, pending = t.emb, t.dists, t.pending
        assert old_e is not None

        def is_new(i: int) -> bool:
            o, chip = pending[i]
            e, d = self._identify(chip)
            o.dists, o.embedded = d, True
            return float(np.linalg.norm(e - e_new)) < float(np.linalg.norm(e - old_e))

        lo, hi = -1, len(pending)  # pending[lo] is old, pending[hi] is new
        if not is_new(hi - 1):
            lo = hi - 1
        else:
            hi -= 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if is_new(mid):
                    hi = mid
                else:
                    lo = mid
        for i, (o, _) in enumerate(pending):
            if not o.embedded:
                o.dists = d_new if i >= hi else old_d


# --- judging ----------------------------------------------------------------------------------------------


def _expectation(spec: ShotSpec, frames: Sequence[list[_Obs]], label: Callable) -> tuple[list[str], str]:
    if spec.characters:
        return list(spec.characters), "listed"
    with_faces = [obs for obs in frames if obs]
    counts = Counter(c for obs in with_faces for c in {label(o.dists) for o in obs} if c)
    if counts:
        name, n = counts.most_common(1)[0]
        if n >= MAJORITY_SHARE * len(with_faces):
            return [name], "majority"
    return [], "none"


class _Verdicts:
    """Per frame and expected character: 'seen', 'drift' or the reason it is unchecked."""

    def __init__(self, expected: Sequence[str], label: Callable[[dict[str, float]], str | None]):
        self.expected, self.label = list(expected), label
        self.per_frame: dict[int, dict[str, str]] = {}

    def judge(self, f: int, obs: list[_Obs], typical: float) -> None:
        out: dict[str, str] = {}
        for o in obs:
            o.drift, o.expected = False, None
        present = {self.label(o.dists) for o in obs} & set(self.expected)
        missing = [x for x in self.expected if x not in present]
        prominent = [
            o for o in obs if self.label(o.dists) not in self.expected and o.height >= MIN_FACE_RATIO * typical
        ]
        judged = [o for o in prominent if o.unjudgeable is None]
        pairs = sorted((o.dists.get(x, float("inf")), i, x) for i, o in enumerate(judged) for x in missing)
        used_faces: set[int] = set()
        for _, i, x in pairs:
            if i in used_faces or x in out:
                continue
            used_faces.add(i)
            judged[i].drift, judged[i].expected = True, x
            out[x] = "drift"
        for x in self.expected:
            if x in present:
                out[x] = "seen"
            elif x not in out:
                if not obs:
                    out[x] = "no face found"
                elif any(o.unjudgeable for o in prominent):
                    out[x] = next(o.unjudgeable for o in prominent if o.unjudgeable)
                elif not prominent and any(o.unjudgeable for o in obs):
                    out[x] = next(o.unjudgeable for o in obs if o.unjudgeable)
                elif not prominent:
                    out[x] = "only small background faces"
                else:
                    out[x] = "not in frame (the faces there are other expected characters)"
        self.per_frame[f] = out


def _runs(frames: Sequence[int], verdict: Callable[[int], str]) -> list[tuple[int, int]]:
    """[first, last] frames of drift runs, bridging unchecked frames between drift frames (not seen ones)."""
    runs: list[tuple[int, int]] = []
    first = last = None
    for f in frames:
        v = verdict(f)
        if v == "drift":
            first = f if first is None else first
            last = f
        elif v == "seen" and first is not None:
            runs.append((first, last))  # type: ignore[arg-type]
            first = last = None
    if first is not None:
        runs.append((first, last))  # type: ignore[arg-type]
    return runs


def _spans(frames: Sequence[int], values: dict[int, str]) -> list[Span]:
    out: list[Span] = []
    for f in frames:
        v = values.get(f)
        if v is None:
            continue
        if out and out[-1].reason == v and out[-1].end_frame == f:
            out[-1].end_frame = f + 1
        else:
            out.append(Span(start_frame=f, end_frame=f + 1, reason=v))
    return out


def check_shot(
    spec: ShotSpec,
    source: FrameSource,
    bible: Bible,
    model: TrackingFaceModel,
    stride: int = DEFAULT_STRIDE,
    threshold: float | None = None,
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
    thr = model.threshold if threshold is None else threshold
    bgr = hasattr(source, "read_bgr")
    fol = _Follower(model, bible, thr, stride, bgr)
    reads = 0
    last_scan = start - 10**9
    # closing(): on an error or a cancel the decoding thread is stopped here, before the caller closes the media.
    with closing(stream(source, start, end, bgr=bgr)) as frames_in:
        for f, img in frames_in:
            reads += 1
            # Full detection every `stride` frames, every 2 x stride while a face is followed (it only looks
            # for newcomers then: a followed face's loss triggers one at once).
            every = 2 * stride if any(t.alive for t in fol.tracks) else stride
            scan = f - last_scan >= every or f == end - 1
            fol.step(f, img, scan=scan)
            if f in fol.scans:
                last_scan = f
            if progress and (reads % stride == 0 or f == end - 1):
                progress(reads / (end - start), f"{spec.name}: frame {f}")
    frames = list(range(start, end))
    by_frame = fol.by_frame
    label = fol._label
    expected, source_kind = _expectation(spec, [by_frame[f] for f in frames], label)
    heights = [o.height for f in frames for o in by_frame[f] if label(o.dists) in expected]
    typical = float(np.median(heights)) if heights else 0.0
    verdicts = _Verdicts(expected, label)
    for f in frames:
        verdicts.judge(f, by_frame[f], typical)
    pf = verdicts.per_frame

    findings: list[Finding] = []
    characters: list[CharacterResult] = []
    for x in expected:
        v = {f: pf[f][x] for f in frames}
        runs = _runs(frames, v.__getitem__)
        for first, last in runs:
            drift_obs = [o for f in range(first, last + 1) for o in by_frame[f] if o.drift and o.expected == x]
            found = Counter(label(o.dists) for o in drift_obs).most_common(1)[0][0]
            sims = [similarity(o.dists.get(x, float("inf"))) for o in drift_obs]
            exact = (first == start or v[first - 1] == "seen") and (last == end - 1 or v[last + 1] == "seen")
            who = found or "an unknown person"
            findings.append(
                Finding(
                    start_frame=first,
                    end_frame=last + 1,
                    expected=x,
                    found=found,
                    frames=sorted({o.frame for o in drift_obs if o.embedded}),
                    similarity=round(max(sims), 4) if sims else 0.0,
                    exact=exact,
                    message=f"Frames {first}-{last}: expected {x}, found {who}.",
                )
            )
        reasons = {f: r for f, r in v.items() if r not in ("seen", "drift")}
        seen = sum(r == "seen" for r in v.values())
        drift = sum(r == "drift" for r in v.values())
        state: State = "drift" if runs else ("consistent" if seen else "unchecked")
        reason = Counter(reasons.values()).most_common(1)[0][0] if state == "unchecked" and reasons else None
        characters.append(
            CharacterResult(
                name=x,
                state=state,
                reason=reason,
                frames_seen=seen,
                frames_drift=drift,
                frames_unchecked=len(reasons),
                unchecked=_spans(frames, reasons),
            )
        )
    findings.sort(key=lambda fd: (fd.start_frame, fd.expected))

    if findings:
        shot_state: State = "drift"
        shot_reason = None
    elif not expected:
        shot_state = "unchecked"
        if not any(by_frame[f] for f in frames):
            shot_reason = "no face found in any frame"
        else:
            shot_reason = (
                "no bible character is seen in at least half of the frames with faces: list the shot's "
                "characters to check it"
            )
    elif any(c.state == "unchecked" for c in characters):
        shot_state = "unchecked"
        shot_reason = "; ".join(f"{c.name}: {c.reason}" for c in characters if c.state == "unchecked")
    else:
        shot_state, shot_reason = "consistent", None

    edges = {fd.start_frame for fd in findings} | {fd.end_frame - 1 for fd in findings}
    edges |= {fd.start_frame - 1 for fd in findings if fd.start_frame > start}
    edges |= {fd.end_frame for fd in findings if fd.end_frame < end}
    keep = sorted(fol.scans | edges | {f for f in frames if any(o.embedded for o in by_frame[f])})
    frame_results = []
    for f in keep:
        faces = []
        for o in by_frame[f]:
            nearest = min(o.dists, key=o.dists.__getitem__) if o.dists else None
            dist = o.dists[nearest] if nearest else float("inf")
            near = [o.dists[x] for x in expected if x in o.dists]
            faces.append(
                FaceResult(
                    box=o.face.box,
                    score=round(o.face.score, 4),
                    character=label(o.dists),
                    nearest=nearest,
                    distance=round(dist, 4),
                    similarity=round(similarity(dist), 4),
                    similarity_to_expected=round(similarity(min(near)), 4) if near else None,
                    drift=o.drift,
                    expected=o.expected,
                    identified=o.embedded,
                    track=o.track,
                    judgeable=o.unjudgeable,
                )
            )
        unchecked = sorted({r for r in pf[f].values() if r not in ("seen", "drift")})
        frame_results.append(
            FrameResult(
                frame=f,
                faces=faces,
                drift=any(r == "drift" for r in pf[f].values()),
                unchecked="; ".join(unchecked) or (None if expected else shot_reason),
                probe=f not in fol.scans,
            )
        )
    return ShotResult(
        name=spec.name,
        media=spec.media,
        start_frame=start,
        end_frame=end,
        expected=expected,
        expected_source=source_kind,  # type: ignore[arg-type]
        state=shot_state,
        reason=shot_reason,
        characters=characters,
        frames=frame_results,
        findings=findings,
        drift=bool(findings),
        frames_read=reads,
        embeddings=fol.embeddings,
        seconds=round(time.perf_counter() - t0, 3),
    )


def bible_warnings(bible: Bible) -> list[str]:
    """Characters whose identity rests on a single reference photo."""
    out = []
    for name, refs in bible.items():
        n = np.asarray(refs).reshape(-1, np.asarray(refs).shape[-1]).shape[0] if np.asarray(refs).size else 0
        if n == 1:
            out.append(
                f"Character '{name}' has one reference photo: identity is less certain (a held-out photo of "
                "the same person can land near the threshold). Add 2-3 more photos (other angles, lighting)."
            )
    return out


def check_shots(
    shots: Sequence[ShotSpec],
    bible: Bible,
    model: TrackingFaceModel | None = None,
    stride: int = DEFAULT_STRIDE,
    progress: Progress | None = None,
    threshold: float | None = None,
    open_source: Callable[[ShotSpec], FrameSource] | None = None,
) -> ConsistencyResult:
    """Check every frame of every shot against the bible. `progress(fraction, message)` is called every
    `stride` frames and may raise to cancel (the exception propagates; media are closed)."""
    if model is None:
        from .faces import DlibFaceModel

        model = DlibFaceModel()
    if not isinstance(model, TrackingFaceModel):
        raise VisionError(
            f"Face model '{getattr(model, 'name', model)}' cannot follow faces frame to frame (it lacks "
            "detect_near, detect_small, align or embed_chips): use DlibFaceModel or a model that has them."
        )
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

            results.append(check_shot(spec, src, bible, model, stride, threshold, sub))
        finally:
            src.close()
    return ConsistencyResult(
        model=model.name,
        threshold=model.threshold if threshold is None else threshold,
        stride=stride,
        summary={k: sum(s.state == k for s in results) for k in ("consistent", "drift", "unchecked")},
        warnings=bible_warnings(bible),
        shots=results,
    )
