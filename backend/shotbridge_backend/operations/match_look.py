"""`match_look`: the ASC CDL that brings each target shot's colour to a reference shot's."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shotbridge.exchange.cdl import set_cdl
from shotbridge.models import AssetRef, OutputRef, TimelineRef

from .base import JobContext, Operation, OperationError
from .check_consistency import write_report
from .contact_sheet import contact_sheet
from .timeline_input import TimelineShot, load_timeline, shots_of, timeline_output


class MatchLookParams(BaseModel):
    timeline: TimelineRef = Field(description="The shots (an uploaded OTIO timeline)")
    media: list[AssetRef] = Field(default_factory=list, description="The media the timeline's clips use")
    reference: str = Field(min_length=1, description="Name of the clip whose look the others should match")
    targets: list[str] = Field(default_factory=list, description="Clips to match (default: every other clip)")
    frames: int = Field(default=5, ge=1, le=50, description="Frames sampled per shot to measure colour")


class MatchLookResult(BaseModel):
    look: dict = Field(description="Per target: CDL, mean CIEDE2000 before and after (docs/vision.md)")
    timeline: OutputRef = Field(description="The timeline with each target's CDL in metadata['cdl']")
    report: OutputRef
    thumbnail: OutputRef | None = Field(default=None, description="Reference, then each target after its CDL")


class MatchLook(Operation):
    name = "match_look"
    title = "Match look (ASC CDL)"
    description = ("Finds, for each target shot, the ASC CDL (slope, offset, power, saturation) that brings its "
                   "colour to the reference shot, and reports the CIEDE2000 difference before and after.")
    params = MatchLookParams
    result = MatchLookResult
    requires = ("cv2", "skimage")

    def run(self, ctx: JobContext, params: MatchLookParams) -> MatchLookResult:
        from ..vision import LookResult, VisionError, match_look

        timeline = load_timeline(ctx, params.timeline)
        names = [params.reference, *params.targets] if params.targets else None
        shots = shots_of(ctx, timeline, params.media, names)
        ref = next((s for s in shots if s.name == params.reference), None)
        if ref is None:
            raise OperationError(f"No clip named '{params.reference}' in the timeline.", field="params.reference")
        targets = [s for s in shots if s is not ref]
        if not targets:
            raise OperationError("There are no target shots besides the reference.", field="params.targets")
        try:
            ref_frames, ref_images = _sample(ref, params.frames)
            looks = []
            graded = [ref_images[0]]
            for i, shot in enumerate(targets):
                ctx.progress(i / len(targets), f"matching {shot.name} to {ref.name}")
                frames, images = _sample(shot, params.frames)
                looks.append(match_look(ref_images, images, shot.name, frames=frames, media=shot.media_name))
                graded.append(_graded(images[0], looks[-1].cdl))
                set_cdl(shot.clip, looks[-1].cdl)
        except VisionError as exc:
            raise OperationError(str(exc)) from exc
        result = LookResult(reference=ref.name, reference_media=ref.media_name, reference_frames=ref_frames,
                            targets=looks)
        timeline_ref = timeline_output(ctx, timeline, params.timeline, "look")
        report = write_report(ctx, [result.to_json_dict()], shots, "Look matching")
        ctx.progress(1.0, f"{len(looks)} CDL(s)")
        return MatchLookResult(look=result.to_json_dict(),
                               timeline=timeline_ref, report=report,
                               thumbnail=contact_sheet(ctx, graded))


def _graded(image, cdl):
    import numpy as np

    from ..vision import apply_cdl
    from ..vision.look import as_float_rgb

    return (np.clip(apply_cdl(as_float_rgb(image), cdl), 0, 1) * 255).round().astype(np.uint8)


def _sample(shot: TimelineShot, count: int) -> tuple[list[int], list]:
    import numpy as np

    from ..vision import open_media

    last = shot.end_frame - 1
    frames = sorted({int(round(f)) for f in np.linspace(shot.start_frame, last, count)})
    with open_media(shot.path) as src:
        return frames, [src.read(f) for f in frames]
