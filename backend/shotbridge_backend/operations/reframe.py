"""reframe: a shot outpainted to another aspect ratio for a deliverable (2.39:1 to 16:9 or 9:16).

The shot keeps every pixel; the frame grows on one axis (task outpaint_video: Wan VACE outpainting, the shot
padded on each side and the new area generated). The new frame size is a multiple of 16 on both axes (the
video model's grid), so the other axis may grow by up to 15 pixels too. Where the source sits in the new
frame (`anchor`) and the exact framing (source size, target size, offsets) go into the take's facts, for a
conform to place it. A still goes to an image outpainting model (task outpaint: FLUX.1 Fill) when the
provider has one, else it is one frame through the video model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from shotbridge.models import DataKind

from ..providers.base import IMAGE, VIDEO, GenerationRequest, InputImage, Task
from .base import JobContext, OperationError
from .generate import (
    GenerationResult,
    Generative,
    Recorder,
    ShotParams,
    as_frames,
    check_before_sending,
    open_shot,
    shot_rate,
    shots_to_generate,
    write_frame,
)
from .identity_gate import IdentityGate, failing_warning, gated
from .timeline_input import timeline_output
from .video_takes import store_take, write_movie

GRID = 16  # Wan's frame sizes are multiples of 16
MAX_RATIO = 4.0  # wider than 4:1 or taller than 1:4 is not a deliverable; refused rather than sent
ASPECT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:[:x/]\s*(\d+(?:\.\d+)?))?\s*$")
Anchor = Literal["center", "top", "bottom", "left", "right"]


def parse_aspect(text: str) -> float:
    """'16:9', '9:16', '2.39:1', '1.85' -> width / height; ValueError says what is accepted."""
    match = ASPECT_RE.match(text)
    if not match:
        raise ValueError(f"aspect {text!r} is not a ratio: write it as '16:9', '9:16', '2.39:1' or '1.78'")
    width, height = float(match.group(1)), float(match.group(2) or 1)
    if width <= 0 or height <= 0:
        raise ValueError(f"aspect {text!r} must have both sides above 0")
    ratio = width / height
    if not 1 / MAX_RATIO <= ratio <= MAX_RATIO:
        raise ValueError(f"aspect {text!r} ({ratio:.2f}:1) is outside 1:4 to 4:1; no deliverable is framed so")
    return ratio


class ReframeParams(ShotParams):
    aspect: str | None = Field(default=None, description="The new aspect ratio: '16:9', '9:16', '1:1', '2.39:1'")
    width: int | None = Field(default=None, ge=16, le=8192, description="Or the deliverable's width (with height)")
    height: int | None = Field(default=None, ge=16, le=8192, description="Or the deliverable's height (with width)")
    anchor: Anchor = Field(default="center", description="Where the source sits in the new frame: center, or "
                                                         "against the top, bottom, left or right edge")

    @model_validator(mode="after")
    def _one_target(self) -> ReframeParams:
        if self.aspect is None and not (self.width and self.height):
            raise ValueError("give aspect (e.g. '16:9') or both width and height")
        if self.aspect is not None and (self.width or self.height):
            raise ValueError("give aspect, or width and height, not both")
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height")
        parse_aspect(self.aspect or f"{self.width}:{self.height}")  # refuse a bad ratio before any work
        return self

    def ratio(self) -> float:
        return parse_aspect(self.aspect or f"{self.width}:{self.height}")


@dataclass(frozen=True)
class Framing:
    source: tuple[int, int]
    target: tuple[int, int]
    left: int
    top: int

    @property
    def pads(self) -> dict[str, int]:
        return {"pad_left": self.left, "pad_top": self.top, "pad_right": self.target[0] - self.source[0] - self.left,
                "pad_bottom": self.target[1] - self.source[1] - self.top}

    def facts(self, anchor: str, ratio: float) -> dict:
        return {"source_size": list(self.source), "target_size": list(self.target),
                "offset": [self.left, self.top], "anchor": anchor, "aspect": round(ratio, 4)}


def framing(source: tuple[int, int], ratio: float, anchor: str) -> Framing:
    """The larger frame of aspect `ratio` (on the 16-pixel grid) that holds the source whole, and where it sits."""
    w, h = source
    up = lambda v: -(-v // GRID) * GRID  # noqa: E731
    if abs(ratio - w / h) / (w / h) < 0.01:
        raise OperationError(f"the shot is already {w}x{h} ({w / h:.2f}:1); nothing to outpaint for {ratio:.2f}:1",
                             field="params.aspect")
    if ratio > w / h:  # wider: grow the width
        tw, th = up(max(w, round(h * ratio))), up(h)
    else:  # taller: grow the height
        tw, th = up(w), up(max(h, round(w / ratio)))
    free_x, free_y = tw - w, th - h
    left = {"left": 0, "right": free_x}.get(anchor, free_x // 2)
    top = {"top": 0, "bottom": free_y}.get(anchor, free_y // 2)
    return Framing((w, h), (tw, th), left, top)


class Reframe(Generative):
    name = "reframe"
    title = "Reframe"
    description = ("Outpaints each shot to another aspect ratio (2.39:1 to 16:9 or 9:16) with a video model; a new "
                   "take on the clip with its framing (source size, target size, offsets) in its metadata.")
    params = ReframeParams
    task = Task.outpaint_video

    def data_kinds(self, params: ReframeParams, accepts_references: bool) -> set[DataKind]:
        kinds = {DataKind.plate}  # no references: characters only gate the result
        return kinds | ({DataKind.prompt} if params.prompt or params.negative_prompt else set())

    def run(self, ctx: JobContext, params: ReframeParams) -> GenerationResult:
        from ..vision.frames import StillSource

        timeline, shots = shots_to_generate(ctx, params)
        ratio = params.ratio()
        plans = []
        for shot in shots:  # every shot's framing is checked before anything is sent
            source = open_shot(shot)
            try:
                plans.append((shot, framing(source.size, ratio, params.anchor), isinstance(source, StillSource)))
            finally:
                source.close()
        check_before_sending(ctx, params, {DataKind.plate}, [])
        recorder, outcomes, warnings = Recorder(ctx, self, params), [], []
        for n, (shot, frame, still) in enumerate(plans):
            span = (n / len(plans), (n + 1) / len(plans))
            length = 1 if still else shot.end_frame - shot.start_frame
            rate = shot_rate(shot)
            source = open_shot(shot)
            try:
                ctx.progress(span[0], f"{shot.name}: writing the shot for the video model")
                movie = write_movie(ctx, source, shot.start_frame, shot.start_frame + length, f"{shot.name}_plate",
                                    rate)
                first = write_frame(ctx, source, shot.start_frame, f"{shot.name}_first")
            finally:
                source.close()
            key = next_key(shot.clip)
            stem = recorder.stem(f"{shot.name}_{key}")
            characters = params.characters or shot.characters
            gate = IdentityGate.for_job(ctx, characters)

            image_model = still and ctx.provider.supports(Task.outpaint)

            def attempt(seed, shot=shot, frame=frame, movie=movie, length=length, rate=rate, span=span, stem=stem,
                        first=first, image_model=image_model):
                ctx.progress(span[0], f"{shot.name}: outpainting {frame.source[0]}x{frame.source[1]} to "
                                      f"{frame.target[0]}x{frame.target[1]}")
                if image_model:
                    generated = ctx.generate(GenerationRequest(
                        task=Task.outpaint, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                        values=frame.pads, options=dict(params.options),
                        inputs=[InputImage(IMAGE, first, DataKind.plate, shot.sha256)]), span)
                    if not generated.files:
                        raise OperationError(f"{ctx.provider.name} returned no image for {shot.name}")
                    return generated, generated.files[:1]
                generated = ctx.generate(GenerationRequest(
                    task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                    frames=length, fps=rate, width=frame.target[0], height=frame.target[1], values=frame.pads,
                    options=dict(params.options), inputs=[InputImage(VIDEO, movie, DataKind.plate, shot.sha256)]),
                    span)
                return generated, as_frames(ctx, generated, length, f"{stem}_{generated.seed}")

            (generated, frames), _paths, identity = gated(gate, params.seed, 1, attempt, lambda r: r[1])
            notes = [f"{frame.source[0]}x{frame.source[1]} outpainted to {frame.target[0]}x{frame.target[1]}, the "
                     f"source at x={frame.left}, y={frame.top}"]
            if still:
                notes.append(f"{shot.media_name} is a still: one image"
                             + (" (image outpainting)" if image_model else " through the video model"))
            outcome = store_take(ctx, recorder, shot, key, stem, frames, generated,
                                 [(first, f"{shot.media_name} frame {shot.start_frame}", "image/png")], characters,
                                 identity, notes, still=still, framing=frame.facts(params.anchor, ratio))
            if identity is not None and not identity.passed:
                warnings.append(failing_warning(f"{shot.name} take {key}", identity, characters))
            outcomes.append(outcome)
        ctx.progress(1.0, f"{len(outcomes)} take(s)")
        return GenerationResult(provider=ctx.provider.name, shots=outcomes, warnings=warnings,
                                timeline=timeline_output(ctx, timeline, params.timeline, self.name))


def next_key(clip) -> str:
    from shotbridge.exchange.takes import next_take_key

    return next_take_key(clip, "reframe")
