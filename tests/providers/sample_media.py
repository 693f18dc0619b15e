"""What the generative tests feed the providers' doubles: real face photos from ../shared/faces, and a cut with
a gap between two shots of one movie."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio
from PIL import Image

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
RATE = 24


def photo(relative: str) -> np.ndarray:
    """A face photo (path under ../shared/faces) as RGB floats in 0..1, as the doubles return images."""
    return np.asarray(Image.open(FACES / relative).convert("RGB"), np.float32) / 255.0


def gap_cut(movie: Path, frames: int) -> otio.schema.Timeline:
    """sh010 (the movie from frame 0), a gap, sh020 (from frame 24): each `frames` long, at 24 fps."""
    t = otio.opentime.RationalTime
    track = otio.schema.Track(name="V1")
    available = otio.opentime.TimeRange(t(0, RATE), t(48, RATE))
    for name, start in (("sh010", 0), (None, 0), ("sh020", 24)):
        rng = otio.opentime.TimeRange(t(start, RATE), t(frames, RATE))
        track.append(otio.schema.Gap(source_range=rng) if name is None else otio.schema.Clip(
            name=name, source_range=rng, media_reference=otio.schema.ExternalReference(str(movie), available)))
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(track)
    return timeline


def one_shot_cut(movie: Path, name: str, frames: int) -> otio.schema.Timeline:
    """One shot: the movie's first `frames` frames at 24 fps (the movie holds 48)."""
    t = otio.opentime.RationalTime
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name=name, source_range=otio.opentime.TimeRange(t(0, RATE), t(frames, RATE)),
        media_reference=otio.schema.ExternalReference(str(movie), otio.opentime.TimeRange(t(0, RATE), t(48, RATE))))]))
    return timeline
