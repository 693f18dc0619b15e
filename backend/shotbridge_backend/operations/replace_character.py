"""replace_character: a bible character replaces a performer in a live-action plate (AI combined with live action).

The performer's area is regenerated through the whole shot by a video inpainting model (task video_inpaint:
Wan VACE inpainting), conditioned on the character's reference photo from the bible and the prompt; outside
the matte the plate is kept. The matte is the job's `mask` (white = the performer), or computed here from
the face engine's boxes over the shot (each face widened to the shoulders and carried down to the frame's
bottom edge: head and body), one matte for the whole shot as the official workflow takes it. Wan 2.2
Animate's replace mode needs custom nodes (pose and segmentation) that stock ComfyUI lacks, so it is not the
built-in. The take passes the identity gate against the character; a plate where no performer is found and
no mask given is refused before anything is sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from shotbridge.models import DataKind, PickedAssetRef
from shotbridge.safenames import safe_name

from ..providers.base import MASK, REFERENCE, VIDEO, GenerationRequest, InputImage, Task
from .base import JobContext, OperationError
from .generate import (
    GenerationResult,
    Generative,
    Recorder,
    ShotParams,
    as_frames,
    check_before_sending,
    image_type,
    open_shot,
    shot_rate,
    shots_to_generate,
    write_frame,
)
from .identity_gate import IdentityGate, failing_warning, gated
from .timeline_input import TimelineShot, timeline_output
from .video_takes import store_take, write_movie

SAMPLES = 8  # frames of the shot searched for faces when the matte is computed
WIDEN, ABOVE = 0.75, 0.5  # a face box grown by these fractions of its size (sideways, upwards) covers the person


class ReplaceCharacterParams(ShotParams):
    character: str = Field(min_length=1, description="The bible character who takes the performer's place")
    mask: PickedAssetRef | None = Field(default=None, description="White where the performer is (one matte for "
                                                                   "the shot; default: found by the face engine)")


class ReplaceCharacter(Generative):
    name = "replace_character"
    title = "Replace character"
    description = ("A character from the bible replaces the performer in each plate: the performer's matte "
                   "regenerated through the shot by a video model, conditioned on the character's reference; a "
                   "new take on the plate's clip, identity-gated.")
    params = ReplaceCharacterParams
    task = Task.video_inpaint
    input_kinds = frozenset({DataKind.plate, DataKind.mask, DataKind.reference})

    def data_kinds(self, params: ReplaceCharacterParams, accepts_references: bool) -> set[DataKind]:
        kinds = set(self.input_kinds)
        if params.prompt or params.negative_prompt:
            kinds.add(DataKind.prompt)
        return kinds

    def run(self, ctx: JobContext, params: ReplaceCharacterParams) -> GenerationResult:
        timeline, shots = shots_to_generate(ctx, params)
        gate = IdentityGate.for_job(ctx, [params.character])  # refuses a character with no reference photo
        (_name, ref_sha), *_ = ctx.references([params.character])
        reference = InputImage(REFERENCE, ctx.asset_path(ref_sha), DataKind.reference, ref_sha)
        given = self._given_mask(ctx, params)
        mattes = {}
        for shot in shots:  # every shot's matte is made before anything is sent: one without a performer fails all
            ctx.progress(0.0, f"{shot.name}: finding the performer")
            mattes[shot.name] = self._matte(ctx, shot, given)
        check_before_sending(ctx, params, set(self.input_kinds), [reference])
        recorder, outcomes, warnings = Recorder(ctx, self, params), [], []
        for n, shot in enumerate(shots):
            span = (n / len(shots), (n + 1) / len(shots))
            length, rate = shot.end_frame - shot.start_frame, shot_rate(shot)
            source = open_shot(shot)
            try:
                movie = write_movie(ctx, source, shot.start_frame, shot.end_frame, f"{shot.name}_plate", rate)
                first = write_frame(ctx, source, shot.start_frame, f"{shot.name}_first")
                size = source.size
            finally:
                source.close()
            matte, how = mattes[shot.name]
            matte_path = write_matte(ctx, matte, f"{shot.name}_matte")
            key = next_key(shot.clip)
            stem = recorder.stem(f"{shot.name}_{key}")

            def attempt(seed, shot=shot, movie=movie, matte_path=matte_path, length=length, rate=rate, size=size,
                        span=span, stem=stem):
                ctx.progress(span[0], f"{shot.name}: {params.character} in place of the performer")
                generated = ctx.generate(GenerationRequest(
                    task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                    frames=length, fps=rate, width=size[0], height=size[1], options=dict(params.options),
                    inputs=[InputImage(VIDEO, movie, DataKind.plate, shot.sha256),
                            InputImage(MASK, matte_path, DataKind.mask, params.mask), reference]), span)
                return generated, as_frames(ctx, generated, length, f"{stem}_{generated.seed}")

            (generated, frames), _paths, identity = gated(gate, params.seed, 1, attempt, lambda r: r[1])
            covered = float(matte.mean()) / 255
            outcome = store_take(
                ctx, recorder, shot, key, stem, frames, generated,
                [(first, f"{shot.media_name} frame {shot.start_frame}", "image/png"),
                 (matte_path, "performer matte", "image/png"), (reference.path, params.character, image_type(reference.path))],
                [params.character], identity,
                [f"{params.character} replaces the performer; matte from {how}, {covered:.0%} of the frame"],
                replaced_by=params.character, matte=how)
            if identity is not None and not identity.passed:
                warnings.append(failing_warning(f"{shot.name} take {key}", identity, [params.character]))
            outcomes.append(outcome)
        ctx.progress(1.0, f"{len(outcomes)} take(s)")
        return GenerationResult(provider=ctx.provider.name, shots=outcomes, warnings=warnings,
                                timeline=timeline_output(ctx, timeline, params.timeline, self.name))

    @staticmethod
    def _given_mask(ctx: JobContext, params: ReplaceCharacterParams) -> np.ndarray | None:
        if params.mask is None:
            return None
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(ctx.asset_path(params.mask)) as img:
                return np.asarray(img.convert("L"))
        except (UnidentifiedImageError, OSError) as exc:
            raise OperationError(f"params.mask is not a readable image ({exc})", field="params.mask") from exc

    @staticmethod
    def _matte(ctx: JobContext, shot: TimelineShot, given: np.ndarray | None) -> tuple[np.ndarray, str]:
        """(8-bit matte the size of the shot, white = the performer; where it came from)."""
        from PIL import Image

        source = open_shot(shot)
        try:
            width, height = source.size
            if given is not None:
                matte = np.asarray(Image.fromarray(given).resize((width, height), Image.Resampling.BILINEAR))
                if not (matte > 127).any():
                    raise OperationError("params.mask has no white area: nothing would be replaced",
                                         field="params.mask")
                return np.where(matte > 127, 255, 0).astype(np.uint8), "the given mask"
            from ..characters import face_model

            model = face_model()
            length = shot.end_frame - shot.start_frame
            count = min(SAMPLES, length)
            picks = sorted({shot.start_frame + round(i * (length - 1) / max(1, count - 1)) for i in range(count)})
            matte = np.zeros((height, width), np.uint8)
            for frame in picks:
                ctx.check_canceled()
                for face in model.detect(source.read(frame)):
                    x0, y0, x1, y1 = face.box
                    grow_x, grow_y = round(face.width * WIDEN), round(face.height * ABOVE)
                    matte[max(0, y0 - grow_y):, max(0, x0 - grow_x):min(width, x1 + grow_x)] = 255
        finally:
            source.close()
        if not matte.any():
            raise OperationError(f"No performer found in shot '{shot.name}' (the face engine saw no face in "
                                 f"{len(picks)} frames); give params.mask (white where the performer is).",
                                 field="params.mask")
        return matte, "the face engine's boxes"


def write_matte(ctx: JobContext, matte: np.ndarray, name: str) -> Path:
    """The matte as ComfyUI's LoadImage reads a mask: from the alpha channel, transparent = the area to fill
    (as the mask editor saves one)."""
    from PIL import Image

    rgba = np.zeros((*matte.shape, 4), np.uint8)
    rgba[..., 3] = 255 - matte
    path = ctx.work_dir / "in" / safe_name(f"{name}.png", default="matte.png")
    path.parent.mkdir(exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def next_key(clip) -> str:
    from shotbridge.exchange.takes import next_take_key

    return next_take_key(clip, "replace")
