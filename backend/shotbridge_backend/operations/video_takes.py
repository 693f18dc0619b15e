"""Whole-shot video requests: a shot written as a movie for a video model, and the movie that comes back stored
as a take on the shot's clip (frames `<stem>.<frame>.png` numbered as the plate's, signed, with their facts).

Used by the operations that send a shot to a video model in one request (edit_shot, reframe) instead of frame
by frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotbridge.exchange.facts import IdentityFacts, set_facts
from shotbridge.exchange.takes import add_take
from shotbridge.safenames import safe_name

from .base import JobContext, OperationError
from .generate import Recorder, ShotOutcome, identity_fact, sequence_ref, shot_rate
from .timeline_input import TimelineShot


def write_movie(ctx: JobContext, source, start: int, end: int, name: str, fps: float) -> Path:
    """Frames start..end-1 of `source` as an MPEG-4 movie in the job's work folder. Written from decoded frames,
    it carries none of the source file's metadata (the session sends such movies as they are)."""
    import cv2

    if end <= start:
        raise OperationError(f"{name}: the shot has no frames to send")
    folder = ctx.work_dir / "in"
    folder.mkdir(exist_ok=True)
    path = folder / safe_name(f"{name}.mp4", default="shot.mp4")
    width, height = source.size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height))
    if not writer.isOpened():
        raise OperationError("this backend's OpenCV cannot write MPEG-4 movies; install opencv with FFmpeg")
    try:
        for frame in range(start, end):
            ctx.check_canceled()
            writer.write(cv2.cvtColor(source.read(frame), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def store_take(ctx: JobContext, recorder: Recorder, shot: TimelineShot, key: str, stem: str, frames: list[Path],
               generated, ingredients: list[tuple[Path, str, str]], characters: list[str],
               identity: IdentityFacts | None, notes: list[str], still: bool = False, **extra: Any) -> ShotOutcome:
    """The generated frames as take `key` on the shot's clip, numbered from the shot's first frame (a still's
    one frame as a still, `<stem>.png`); `extra` goes into the take's facts (framing, key frame)."""
    origin = generated.reproduce.get("template_origin")
    if still:
        outputs = [recorder.store(frames[0], f"{stem}.png", generated, ingredients)]
    else:
        outputs = [recorder.store(path, f"{stem}.{shot.start_frame + i:04d}.png", generated, ingredients)
                   for i, path in enumerate(frames)]
    facts = recorder.facts(generated, outputs, characters, **identity_fact(identity),
                           **({"source_template": origin} if origin else {}), **extra)
    if still:
        ref = otio.schema.ExternalReference(target_url=f"./{stem}.png", available_range=shot.clip.trimmed_range())
        set_facts(ref, facts)
        ref.metadata["shotbridge"]["frames"] = [outputs[0].sha256]
    else:
        ref = sequence_ref(stem, outputs, shot.start_frame, shot_rate(shot), shot.clip.trimmed_range(), facts)
    add_take(shot.clip, ref, key)
    wanted = 1 if still else shot.end_frame - shot.start_frame
    if len(outputs) < wanted:
        notes = [*notes, f"{ctx.provider.name} made {len(outputs)} of the shot's {wanted} frames"]
    return ShotOutcome(shot=shot.name, take=key, frames=len(outputs), model=generated.model, seed=generated.seed,
                       identity=identity, notes=notes)
