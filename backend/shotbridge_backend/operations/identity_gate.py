"""The identity gate: what a provider generated with bible characters is scored before it becomes a take.

The score comes from the same face engine and bible as `check_consistency` (dlib's ResNet embeddings, the
euclidean distance to each character's nearest reference). An image passes when every character asked for
is found in it within the project's threshold; a frame range passes when every frame with a face does (a
frame where nobody faces the camera is not held against it, but a range with no face at all fails). Under
the threshold the request is made again with a new seed, up to the project's `identity_attempts`; the best
attempt is kept, and one that never passed is delivered with `identity.passed = false` and a warning.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from shotbridge.exchange.facts import IdentityFacts

from .base import JobContext, OperationError

T = TypeVar("T")
MAX_SEED = 2**31 - 1  # the seed range every provider takes (the ComfyUI provider's too)


@dataclass
class Verdict:
    distance: float | None  # the worst character's distance over the scored frames; None: no face found
    frames: int

    def passed(self, threshold: float) -> bool:
        return self.distance is not None and self.distance <= threshold


class IdentityGate:
    """Scores generated frames against the bible's characters `names`."""

    def __init__(self, bible: dict[str, np.ndarray], threshold: float | None, attempts: int, model=None):
        if model is None:
            from ..characters import face_model

            model = face_model()
        self.model = model
        self.bible = bible
        self.threshold = model.threshold if threshold is None else threshold
        self.attempts = attempts

    @classmethod
    def for_job(cls, ctx: JobContext, names: Sequence[str], model=None) -> IdentityGate | None:
        """The gate for a job that conditions on `names` (None without characters). Refuses, before anything
        is sent, a character with no reference photo: there would be nothing to hold the result to."""
        if not names:
            return None
        ctx.references(list(names))  # a name the bible does not know is refused here, with the names it has
        bible = ctx.bible()
        missing = [n for n in names if not bible.get(n)]
        if missing:
            raise OperationError(
                f"Character(s) {', '.join(map(repr, missing))} have no reference photo with a face in the bible, so "
                "nothing generated could be checked against them. Add one (`shotbridge character add NAME PHOTO`) or "
                "leave them out of params.characters.", field="params.characters")
        policy = ctx.policy()
        return cls({n: np.asarray(bible[n], dtype=np.float64) for n in names}, policy.identity_threshold,
                   policy.identity_attempts, model)

    # -- scoring ---------------------------------------------------------------------------------------------

    def frame_distance(self, image: np.ndarray, bgr: bool = False) -> float | None:
        """The worst character's distance to its nearest face in the frame (None: no face at all). A BGR frame
        (as OpenCV decodes it) is read as is: detection and landmarks do not depend on the channel order (as
        check_consistency measured), so only the aligned chips are turned to RGB for the embedding."""
        faces = self.model.detect(image)
        if not faces:
            return None
        if bgr:
            chips = [np.ascontiguousarray(self.model.align(image, f).chip[:, :, ::-1]) for f in faces]
            embeddings = self.model.embed_chips(chips)
        else:
            embeddings = self.model.embed(image, faces)
        worst = 0.0
        for refs in self.bible.values():
            # distance of every face to every reference of this character: its best match in the frame
            d = np.linalg.norm(embeddings[:, None, :] - refs[None, :, :], axis=2)
            worst = max(worst, float(d.min()))
        return worst

    def score_files(self, paths: Sequence[Path]) -> Verdict:
        return self.score(read_ahead(paths), bgr=True)

    def score(self, frames: Iterable[np.ndarray], bgr: bool = False) -> Verdict:
        count, distances = 0, []
        for frame in frames:
            count += 1
            d = self.frame_distance(frame, bgr)
            if d is not None:
                distances.append(d)
        return Verdict(max(distances) if distances else None, count)

    def facts(self, verdict: Verdict, attempts: int) -> IdentityFacts:
        d = verdict.distance
        return IdentityFacts(passed=verdict.passed(self.threshold), distance=None if d is None else round(d, 4),
                             score=None if d is None else round(1.0 - d * d / 4.0, 4),
                             threshold=self.threshold, attempts=attempts, face_model=self.model.name,
                             frames=verdict.frames)


def read_ahead(paths: Sequence[Path], depth: int = 2) -> Iterator[np.ndarray]:
    """The frames in order, the next `depth` decoded on a thread while the face engine works on this one:
    decoding a 1080p PNG costs about a quarter of the engine's time on it, and OpenCV decodes without the GIL,
    so overlapped it all but disappears from the gate's cost (bench/bench_identity_gate.py)."""
    with ThreadPoolExecutor(1, thread_name_prefix="identity-gate-read") as pool:
        pending = deque(pool.submit(read_bgr, p) for p in paths[:depth])
        following = iter(paths[depth:])
        while pending:
            frame = pending.popleft().result()
            nxt = next(following, None)
            if nxt is not None:
                pending.append(pool.submit(read_bgr, nxt))
            yield frame


def read_bgr(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OperationError(f"the identity gate could not read the generated image {Path(path).name}")
    return bgr


def first_seed(seed: int | None) -> int:
    """The first attempt's seed: the one asked for, or one drawn here so the retries' seeds are known."""
    return seed if seed is not None else random.SystemRandom().randint(0, MAX_SEED)


def gated(gate: IdentityGate | None, seed: int | None, count: int,
             attempt: Callable[[int | None], T], frames: Callable[[T], list[Path]],
             ) -> tuple[T, list[Path], IdentityFacts | None]:
    """Run `attempt(seed)` until what `frames` makes of it passes the gate or the attempts run out; the best
    attempt (the smallest worst distance) is kept. Without a gate, one attempt with the seed as asked.
    Attempt n uses the first seed + n * count: a request for `count` images takes `count` seeds."""
    if gate is None:
        result = attempt(seed)
        return result, frames(result), None
    base = first_seed(seed)
    best: tuple[float, T, list[Path], Verdict] | None = None
    for n in range(gate.attempts):
        result = attempt((base + n * count) % (MAX_SEED + 1))
        paths = frames(result)
        verdict = gate.score_files(paths)
        rank = verdict.distance if verdict.distance is not None else float("inf")
        if best is None or rank < best[0]:
            best = (rank, result, paths, verdict)
        if verdict.passed(gate.threshold):
            break
    _rank, result, paths, verdict = best
    return result, paths, gate.facts(verdict, n + 1)


def failing_warning(what: str, identity: IdentityFacts, characters: Sequence[str]) -> str:
    seen = "no face was found" if identity.distance is None else \
        f"the best face distance was {identity.distance:.3f} (threshold {identity.threshold:.3f})"
    return (f"{what}: identity gate FAILED for {', '.join(characters)} after {identity.attempts} attempt(s): "
            f"{seen}. Delivered marked identity.passed=false; raise identity_attempts in the project's policy, "
            "add reference photos, or change the prompt.")
