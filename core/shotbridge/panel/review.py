"""The review of one take of one clip, owned by no toolkit: source and take media, the frame shown, how they
are compared (wipe, flip, side by side), and the take's facts as the generative operations wrote them.

A take whose files are not on disk is `missing` and cannot be accepted: a host would show a blank or an
error frame instead of the shot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import opentimelineio as otio

from ..exchange.facts import Facts, IdentityFacts, get_facts
from ..timeline_upload import local_path

MODES = ("wipe", "flip", "side")
MOVIE_SUFFIXES = {".mov", ".mp4", ".m4v", ".mkv", ".avi", ".mxf", ".webm"}
# What the panel shows for each credential state, and the colour it is drawn in.
CREDENTIAL_TEXT = {
    "none": "no credential recorded",
    "checking": "checking...",
    "verified": "verified",
    "not_signed": "not signed",
    "invalid": "INVALID",
    "unchecked": "could not check",
}


@dataclass
class Media:
    """One side of the comparison: where frame `n` (in the clip's source frame numbers) is on disk."""

    kind: str  # still | movie | sequence | none
    path: Path | None = None  # still or movie
    sequence: otio.schema.ImageSequenceReference | None = None
    origin: int = 0  # movie: the source frame number of the file's first frame
    span: tuple[int, int] | None = None  # sequence without an available range: the clip's frames, inclusive

    def locate(self, frame: int) -> tuple[Path, int] | None:
        """(file, frame index inside it) for source frame `frame`, or None when there is no media."""
        if self.kind == "still" and self.path is not None:
            return self.path, 0
        if self.kind == "movie" and self.path is not None:
            return self.path, max(0, frame - self.origin)
        if self.kind == "sequence" and self.sequence is not None:
            first, last = self._frames()
            number = (min(max(frame, first), last) - first) // max(1, self.sequence.frame_step)
            return self._frame_path(number), 0
        return None

    def _frames(self) -> tuple[int, int]:
        seq = self.sequence
        if seq.available_range is not None:
            return seq.start_frame, seq.end_frame()
        if self.span is not None:
            return seq.start_frame, seq.start_frame + self.span[1] - self.span[0]
        return seq.start_frame, seq.start_frame

    def _frame_path(self, number: int) -> Path:
        seq = self.sequence
        frame = seq.start_frame + number * max(1, seq.frame_step)  # by hand: OTIO wants an available range
        name = f"{seq.name_prefix}{frame:0{seq.frame_zero_padding}d}{seq.name_suffix}"
        return local_path(seq.target_url_base, None) / name

    def files(self) -> list[Path]:
        if self.kind in ("still", "movie") and self.path is not None:
            return [self.path]
        if self.kind == "sequence" and self.sequence is not None:
            first, last = self._frames()
            return [self._frame_path(n) for n in range((last - first) // max(1, self.sequence.frame_step) + 1)]
        return []


def media_of(ref: otio.core.MediaReference | None) -> Media:
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return Media("sequence", sequence=ref)
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        path = local_path(ref.target_url, None)
        if path.suffix.lower() in MOVIE_SUFFIXES:
            origin = 0
            if ref.available_range is not None:
                origin = round(ref.available_range.start_time.value)
            return Media("movie", path=path, origin=origin)
        return Media("still", path=path)
    return Media("none")


def missing_reason(media: Media) -> str | None:
    """Why the take cannot be shown, or None when all its files are there."""
    if media.kind == "none":
        return "the take has no media reference with a file"
    files = media.files()
    absent = [p for p in files if not p.is_file()]
    if not absent:
        return None
    if len(absent) == len(files) == 1:
        return f"its file {absent[0]} is not on disk"
    return (f"{len(absent)} of its {len(files)} frame files are not on disk (first: {absent[0]}); "
            "download the job's results again or re-run it")


@dataclass
class TakeFacts:
    """What a generative operation recorded on the take (metadata["shotbridge"])."""

    operation: str | None = None
    provider: str | None = None
    model: str | None = None
    seed: int | None = None
    prompt: str | None = None
    job_id: str | None = None
    identity: IdentityFacts | None = None
    provenance: str | None = None  # "c2pa" when the backend signed the files
    frames: list[str] = field(default_factory=list)  # sha256 of each signed frame, in order
    error: str | None = None  # facts present but unreadable

    @property
    def signed(self) -> bool:
        return self.provenance == "c2pa" and bool(self.frames)


def take_facts(ref: otio.core.MediaReference | None) -> TakeFacts:
    if ref is None:
        return TakeFacts()
    try:
        facts: Facts | None = get_facts(ref)
    except Exception as exc:  # a newer schema or a hand-edited file: show why, never fail the review
        return TakeFacts(error=str(exc))
    if facts is None:
        return TakeFacts()
    extra = facts.model_extra or {}
    frames = [str(s) for s in extra.get("frames", []) if isinstance(s, str)]
    if not frames and facts.asset_sha256:
        frames = [facts.asset_sha256]
    return TakeFacts(operation=facts.operation, provider=facts.provider, model=facts.model, seed=facts.seed,
                     prompt=facts.prompt, job_id=facts.job_id, identity=facts.identity,
                     provenance=facts.provenance, frames=frames)


@dataclass
class Credential:
    status: str = "none"  # none | checking | verified | not_signed | invalid | unchecked
    detail: str = ""

    @property
    def text(self) -> str:
        word = CREDENTIAL_TEXT.get(self.status, self.status)
        return f"{word}: {self.detail}" if self.detail else word


def judge_credentials(checks: list, local: list[tuple[Path, str]]) -> Credential:
    """One verdict for a take from the backend's answer per signed frame (shotbridge.models.Credentials) and
    the frames on disk with the sha256 they were signed as: a local file that differs from the signed bytes
    is invalid even when the backend's copy verifies."""
    for path, expected in local:
        if path.is_file() and _sha256(path) != expected:
            return Credential("invalid", f"{path.name} on disk differs from the signed file the backend holds")
    if not checks:
        return Credential("none")
    bad = [c for c in checks if c.status.value == "invalid"]
    if bad:
        return Credential("invalid", "; ".join(bad[0].issues) or "the credentials do not verify")
    unchecked = [c for c in checks if c.status.value == "unchecked"]
    if unchecked:
        return Credential("unchecked", "; ".join(unchecked[0].issues))
    unsigned = [c for c in checks if c.status.value == "not_signed"]
    if unsigned:
        return Credential("not_signed", f"{len(unsigned)} of {len(checks)} frame(s) carry no Content Credentials")
    frames = f"{len(checks)} frame(s)" if len(checks) > 1 else "1 file"
    return Credential("verified", f"{frames}, signed by {checks[0].signer}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class ReviewState:
    clip: str
    key: str
    source: Media
    take: Media
    first: int  # the clip's source frames, inclusive
    last: int
    rate: float
    facts: TakeFacts
    frame: int = 0
    mode: str = "wipe"  # wipe | flip | side
    divider: float = 0.5  # wipe: the fraction of the width that shows the source
    showing: str = "take"  # flip: which side is up
    missing: str | None = None
    credential: Credential = field(default_factory=Credential)
    take_state: str = "pending"

    @property
    def can_accept(self) -> bool:
        return self.missing is None

    def refusal(self) -> str | None:
        if self.missing is not None:
            return f"Take {self.key} of {self.clip} cannot be accepted: {self.missing}."
        return None

    def set_frame(self, frame: int) -> int:
        self.frame = min(max(int(frame), self.first), self.last)
        return self.frame

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"review mode {mode!r}: use one of {', '.join(MODES)}")
        self.mode = mode

    def set_divider(self, fraction: float) -> None:
        self.divider = min(max(float(fraction), 0.0), 1.0)

    def flip(self) -> str:
        self.showing = "source" if self.showing == "take" else "take"
        return self.showing

    def timecode(self, frame: int | None = None) -> str:
        rt = otio.opentime.RationalTime(self.frame if frame is None else frame, self.rate)
        try:
            return otio.opentime.to_timecode(rt, self.rate)
        except Exception:  # a rate timecode cannot express: the frame number says it
            return f"frame {rt.value:.0f}"

    def identity_line(self) -> str:
        idn = self.facts.identity
        if idn is None:
            return "not gated (no bible character)"
        score = "no face found" if idn.score is None else f"score {idn.score:.3f}"
        limit = 1 - idn.threshold ** 2 / 4  # the score a face at the largest passing distance gets
        verdict = "passed" if idn.passed else "FAILED"
        return f"{verdict}: {score} (needs >= {limit:.3f}), {idn.attempts} attempt(s), {idn.face_model}"


def review_for(clip: otio.schema.Clip | None, key: str, take_ref: otio.core.MediaReference | None,
               clip_name: str = "") -> ReviewState:
    """The review of take `key`: the clip's original media (DEFAULT) against the take."""
    source_ref = None
    rng = None
    if clip is not None:
        source_ref = clip.media_references().get(otio.schema.Clip.DEFAULT_MEDIA_KEY)
        try:
            rng = clip.trimmed_range()
        except otio.exceptions.OTIOError:
            rng = None
    if take_ref is None and clip is not None:
        take_ref = clip.media_references().get(key)
    if rng is None and take_ref is not None and take_ref.available_range is not None:
        rng = take_ref.available_range
    if rng is not None:
        first = round(rng.start_time.value)
        last = first + max(1, round(rng.duration.to_frames())) - 1
        rate = rng.start_time.rate
    else:
        first = last = 0
        rate = 24.0
    take = media_of(take_ref)
    if take.kind == "sequence":
        take.span = (first, last)
    state = ReviewState(clip=clip.name if clip is not None else clip_name, key=key, source=media_of(source_ref),
                        take=take, first=first, last=last, rate=rate, facts=take_facts(take_ref),
                        missing=missing_reason(take))
    state.set_frame(first)
    if state.facts.signed:
        state.credential = Credential("checking")
    return state
