"""edit_shot: an instruction ("night, wet street", "remove the van", "relight from the left") applied to a shot.

On a movie the edit is made on one key frame by an image-edit model (task image_edit: Qwen-Image-Edit 2509,
with the bible's references of the characters when the template takes references) and carried through the shot by a video model (task video_edit: Wan VACE video-to-video, the shot as the
control video and the edited key frame as the reference): two requests per attempt, one take. Stills and
image sequences, or a provider with no video_edit template, are edited frame by frame (image_edit on each).
With bible characters (the job's, else the shot's own for a movie) the take passes the identity gate; an
attempt that fails it is made again from the key frame with a new seed.
"""

from __future__ import annotations

from pydantic import Field

from shotbridge.models import DataKind

from ..providers.base import IMAGE, REFERENCE, VIDEO, GenerationRequest, InputImage, Task
from .base import JobContext, OperationError
from .generate import (
    PerFrame,
    Recorder,
    ShotOutcome,
    ShotParams,
    as_frames,
    references,
    shot_rate,
    write_frame,
)
from .identity_gate import IdentityGate, gated
from .timeline_input import TimelineShot
from .video_takes import store_take, write_movie


class EditShotParams(ShotParams):
    prompt: str = Field(min_length=1, max_length=4000,
                        description="The edit, as an instruction: 'night, wet street', 'remove the van'")
    key_frame: int | None = Field(default=None, ge=0, description="Which frame of a movie shot is edited first "
                                                                  "(counted from the shot's first; default: "
                                                                  "the middle one)")


class EditShot(PerFrame):
    name = "edit_shot"
    title = "Edit shot"
    description = ("An instruction applied to each shot: edited on a key frame, then carried through the shot "
                   "by a video model (frame by frame for stills and image sequences); a new take on the clip.")
    params = EditShotParams
    task = Task.image_edit
    take_prefix = "edit"

    def check_shots(self, params: EditShotParams, shots: list[TimelineShot]) -> None:
        short = [f"{s.name} ({s.end_frame - s.start_frame})" for s in shots
                 if params.key_frame is not None and params.key_frame >= s.end_frame - s.start_frame]
        if short:
            raise OperationError(f"key_frame {params.key_frame} is outside shot(s) {', '.join(short)} frames; "
                                 "count from 0 at each shot's first frame, or leave it unset (the middle frame).",
                                 field="params.key_frame")

    def whole_shot(self, ctx: JobContext, params: EditShotParams, shot: TimelineShot, source, key: str, name: str,
                   recorder: Recorder, span: tuple[float, float]) -> ShotOutcome | None:
        from ..vision.frames import MovieSource

        if not isinstance(source, MovieSource) or not ctx.provider.supports(Task.video_edit):
            return None  # frame by frame: each frame through image_edit
        length = shot.end_frame - shot.start_frame
        offset = length // 2 if params.key_frame is None else params.key_frame  # in range: check_shots
        frame = shot.start_frame + offset
        rate = shot_rate(shot)
        ctx.progress(span[0], f"{shot.name}: writing the shot for the video model")
        key_path = write_frame(ctx, source, frame, f"{shot.name}_key_{frame}")
        movie = write_movie(ctx, source, shot.start_frame, shot.end_frame, f"{shot.name}_control", rate)
        size = source.size
        characters = params.characters or shot.characters
        gate = IdentityGate.for_job(ctx, characters)
        refs = references(ctx, params, shot.characters)  # the key frame's edit keeps who it shows
        mid = (span[0] + span[1]) / 2
        edited_keys: list = []

        def attempt(seed):
            ctx.progress(span[0], f"{shot.name}: editing frame {frame}")
            edit = ctx.generate(GenerationRequest(
                task=Task.image_edit, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                options=dict(params.options),
                inputs=[InputImage(IMAGE, key_path, DataKind.plate, shot.sha256), *refs]), (span[0], mid))
            if not edit.files:
                raise OperationError(f"{ctx.provider.name} returned no edited key frame for {shot.name}")
            edited_keys.append(edit)
            ctx.progress(mid, f"{shot.name}: carrying the edit through {length} frames")
            generated = ctx.generate(GenerationRequest(
                task=Task.video_edit, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                frames=length, fps=rate, width=size[0], height=size[1], options=dict(params.options),
                inputs=[InputImage(VIDEO, movie, DataKind.plate, shot.sha256),
                        InputImage(REFERENCE, edit.files[0], DataKind.plate, shot.sha256)]), (mid, span[1]))
            return edit, generated, as_frames(ctx, generated, length, f"{name}_{generated.seed}")

        (edit, generated, frames), _paths, identity = gated(gate, params.seed, 1, attempt, lambda r: r[2])
        ingredients = [(key_path, f"{shot.media_name} frame {frame}", "image/png"),
                       (edit.files[0], "edited key frame", "image/png")]
        edit_origin = edit.reproduce.get("template_origin")
        return store_take(ctx, recorder, shot, key, name, frames, generated, ingredients, characters, identity,
                          notes=[f"edited on frame {frame} with {edit.model}, carried through by {generated.model}"],
                          key_frame=frame, edit_model=edit.model,
                          **({"edit_template": edit_origin} if edit_origin else {}))
