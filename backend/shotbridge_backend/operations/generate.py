"""Operations that generate: images, takes and new clips made by the job's provider.

Every generated file is stored with signed Content Credentials (`ctx.add_generated`). Results follow the
exchange conventions: a take is an extra media reference on the clip it would replace (never made active:
the editor accepts it), a matte is a media reference whose facts say `kind: matte`, and an extension or a
gap fill is a new clip on the "ShotBridge AI" track at the record range it covers. What re-running a result
needs (provider, model, seed, parameters, workflow hash) is in its `metadata["shotbridge"]`.

Inputs a provider sees are frames of the plates (kind `plate`), the bible's reference images of the shot's
characters when the provider takes references (`reference`), masks (`mask`) and the prompt (`prompt`); the
project's policy decides which of them may go where, before the first request.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import opentimelineio as otio
from pydantic import BaseModel, Field, model_validator

from shotbridge.exchange.facts import Facts, IdentityFacts, set_facts
from shotbridge.exchange.takes import add_take, next_take_key, place_on_track
from shotbridge.hashing import sha256_json
from shotbridge.models import AssetRef, DataKind, OutputRef, PickedAssetRef, TimelineRef
from shotbridge.safenames import MAX_BYTES, safe_name, unique_name

from ..providers.base import (
    FIRST_FRAME,
    IMAGE,
    LAST_FRAME,
    MASK,
    REFERENCE,
    GenerationRequest,
    InputImage,
    Task,
)
from .base import JobContext, Operation, OperationError
from .identity_gate import IdentityGate, failing_warning, gated
from .timeline_input import TimelineShot, load_timeline, shots_of, timeline_output

log = logging.getLogger(__name__)
AI_TRACK = "ShotBridge AI"
STEM_BYTES = MAX_BYTES - 24  # room for '.<frame>.png' after a sequence's stem
MAX_REFERENCES = 4  # reference images per request: enough for identity, small enough for every provider
FIRST_NEW_FRAME = 1001  # new clips' frames are numbered from 1001, as VFX plates are


# -- parameters and results --------------------------------------------------------------------------------


class Conditioning(BaseModel):
    prompt: str = Field(default="", max_length=4000, description="What to make")
    negative_prompt: str = Field(default="", max_length=4000, description="What to avoid")
    seed: int | None = Field(default=None, ge=0, le=2_147_483_646, description="Same seed, same result")
    characters: list[str] = Field(default_factory=list,
                                  description="Bible characters to condition on (default: those listed on the shot)")
    use_bible: bool = Field(default=True, description="Send the characters' reference images to providers "
                                                      "that take them")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="Provider settings: model, quality, template (JSON)")


class ShotParams(Conditioning):
    timeline: TimelineRef = Field(description="The shots (an uploaded OTIO timeline)")
    media: list[AssetRef] = Field(default_factory=list, description="The media the timeline's clips use")
    shots: list[str] = Field(default_factory=list, description="Clip names (default: every video clip)")
    max_frames: int = Field(default=240, ge=1, le=10_000,
                            description="Refuse a shot longer than this (each frame is a provider request)")


class ShotOutcome(BaseModel):
    shot: str
    take: str | None = Field(default=None, description="The media key of the new take on the clip")
    clip: str | None = Field(default=None, description="The new clip on the ShotBridge AI track")
    frames: int
    model: str
    seed: int | None = None
    identity: IdentityFacts | None = Field(default=None, description="The identity gate's verdict (with "
                                                                     "bible characters)")
    notes: list[str] = Field(default_factory=list)


class GenerationResult(BaseModel):
    provider: str
    timeline: OutputRef | None = Field(default=None, description="The timeline with the new takes or clips")
    images: list[OutputRef] = Field(default_factory=list, description="generate_image: the images")
    identity: IdentityFacts | None = Field(default=None, description="generate_image: the identity gate's "
                                                                     "verdict on the images kept")
    shots: list[ShotOutcome] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="What the user must look at: takes that "
                                                                  "failed the identity gate")


# -- shared machinery --------------------------------------------------------------------------------------


class Generative(Operation):
    """Common to the operations that send work to a provider."""

    requires = ("cv2", "PIL")
    result = GenerationResult
    input_kinds: frozenset[DataKind] = frozenset({DataKind.plate})

    def data_kinds(self, params: Conditioning, accepts_references: bool) -> set[DataKind]:
        kinds = set(self.input_kinds)
        if params.prompt or params.negative_prompt:
            kinds.add(DataKind.prompt)
        if accepts_references and params.use_bible and params.characters:
            kinds.add(DataKind.reference)
        return kinds

    def after_run(self, ctx: JobContext, params: Conditioning, result: GenerationResult) -> None:
        """With bible characters: report.html, the identity gate's verdict per image or take (gate_report)."""
        from .gate_report import add_gate_report

        try:
            add_gate_report(ctx, self.name, list(params.characters), result)
        except Exception:  # the takes are made and carry their verdicts: a report that fails must not lose them
            log.exception("job %s: the identity gate report could not be written", ctx.job_id)
            result.warnings.append("the identity gate's HTML report could not be written (backend log); the "
                                   "verdicts are in the result and the takes' metadata")

    def preview_request(self, params: Conditioning) -> GenerationRequest:
        """The request's shape without its files, for cost estimates."""
        return GenerationRequest(task=self.task, prompt=params.prompt, seed=params.seed,
                                 width=getattr(params, "width", None), height=getattr(params, "height", None),
                                 count=getattr(params, "count", 1),
                                 frames=getattr(params, "frames_before", 0) + getattr(params, "frames_after", 0))


def digest(params: BaseModel) -> str:
    return sha256_json(params.model_dump(mode="json"))


def references(ctx: JobContext, params: Conditioning, shot_characters: list[str]) -> list[InputImage]:
    """The bible's reference images for the request, when the provider takes them."""
    names = params.characters or shot_characters
    if not (names and params.use_bible and ctx.provider is not None and ctx.provider.accepts_references):
        return []
    refs = spread(ctx.references(names), MAX_REFERENCES)
    return [InputImage(REFERENCE, ctx.asset_path(sha), DataKind.reference, sha) for _name, sha in refs]


def spread(refs: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """At most `limit` references, taken in turn from each character (each one's best, i.e. first in the
    bible, before anyone's second): a model that takes three images sees every character of a two-shot."""
    by_character: dict[str, list[tuple[str, str]]] = {}
    for name, sha in refs:
        by_character.setdefault(name, []).append((name, sha))
    out: list[tuple[str, str]] = []
    rank = 0
    while len(out) < limit and any(rank < len(v) for v in by_character.values()):
        out += [v[rank] for v in by_character.values() if rank < len(v)][:limit - len(out)]
        rank += 1
    return out


def conditioning_note(ctx: JobContext, params: Conditioning, shot_characters: list[str]) -> list[str]:
    names = params.characters or shot_characters
    if names and params.use_bible and ctx.provider is not None and not ctx.provider.accepts_references:
        return [f"{ctx.provider.name} takes no reference images: {', '.join(names)} conditioned by the prompt only"]
    return []


def check_before_sending(ctx: JobContext, params: Conditioning, extra: set[DataKind],
                         refs: list[InputImage]) -> None:
    kinds = set(extra) | {i.kind for i in refs}
    if params.prompt or params.negative_prompt:
        kinds.add(DataKind.prompt)
    ctx.check_policy(kinds)


def image_type(path: Path) -> str:
    """The media type of an input image from its bytes (uploads keep no trustworthy extension)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return Image.MIME.get(img.format or "", "application/octet-stream")
    except (UnidentifiedImageError, OSError):
        return "application/octet-stream"


def write_frame(ctx: JobContext, source, frame: int, name: str) -> Path:
    from PIL import Image

    folder = ctx.work_dir / "in"
    folder.mkdir(exist_ok=True)
    path = folder / safe_name(f"{name}.png", default="frame.png")
    Image.fromarray(source.read(frame)).save(path)
    return path


def open_shot(shot: TimelineShot):
    from ..vision import VisionError, open_media

    try:
        return open_media(shot.path)
    except VisionError as exc:
        raise OperationError(f"Shot '{shot.name}': {exc}") from exc


def as_frames(ctx: JobContext, generated, wanted: int, name: str) -> list[Path]:
    """The generated frames as PNG files (a movie is decoded), at most `wanted` of them."""
    if not generated.media_type.startswith("video/"):
        return list(generated.files[:wanted])
    import cv2

    out, capture = [], cv2.VideoCapture(str(generated.files[0]))
    try:
        while len(out) < wanted:
            ok, frame = capture.read()
            if not ok:
                break
            path = ctx.work_dir / safe_name(f"{name}_{len(out):04d}.png", default="frame.png")
            cv2.imwrite(str(path), frame)
            out.append(path)
    finally:
        capture.release()
    if not out:
        raise OperationError(f"the provider's movie for {name} holds no readable frames")
    return out


class Recorder:
    """Stores a job's generated files (signed) and the facts that go with them."""

    def __init__(self, ctx: JobContext, op: Operation, params: BaseModel):
        self.ctx, self.op, self.params = ctx, op, params
        self.param_digest = digest(params)
        self._stems: set[str] = set()

    def stem(self, name: str) -> str:
        """A safe name for a sequence of output frames ('<stem>.<frame>.png'), distinct ignoring case from the
        job's other sequences, so a clip's name never becomes a path and two clips never share frames."""
        stem = unique_name(safe_name(name, "clip name", default="take", max_bytes=STEM_BYTES), self._stems)
        self._stems.add(stem.casefold())
        return stem

    def store(self, path: Path, name: str, generated, ingredients: list[tuple[Path, str, str]]) -> OutputRef:
        generation = {"provider": self.ctx.provider.name, "model": generated.model,
                      "digital_source_type": generated.digital_source_type,
                      "parameters": {**self.params.model_dump(mode="json", exclude={"media", "timeline"}),
                                     "seed": generated.seed, **generated.reproduce}}
        return self.ctx.add_generated(path, name, "image/png" if path.suffix == ".png" else generated.media_type,
                                      generation=generation, ingredients=ingredients)

    def facts(self, generated, outputs: list[OutputRef], characters: list[str], **extra: Any) -> Facts:
        p = self.params
        return Facts(job_id=self.ctx.job_id, operation=self.op.name, provider=self.ctx.provider.name,
                     model=generated.model, param_digest=self.param_digest, prompt=p.prompt or None,
                     seed=generated.seed, characters=characters, asset_sha256=outputs[0].sha256 if outputs else None,
                     provenance="c2pa", reproduce=generated.reproduce, **extra)


def sequence_ref(name: str, outputs: list[OutputRef], first: int, rate: float,
                 available: otio.opentime.TimeRange, facts: Facts) -> otio.schema.ImageSequenceReference:
    """Frames `<name>.<n>.png` beside the timeline (as `shotbridge run --out` downloads them)."""
    ref = otio.schema.ImageSequenceReference(
        target_url_base="./", name_prefix=f"{name}.", name_suffix=".png", start_frame=first, frame_step=1,
        rate=rate, frame_zero_padding=max(4, len(str(first + len(outputs) - 1))), available_range=available)
    set_facts(ref, facts)
    ref.metadata["shotbridge"]["frames"] = [o.sha256 for o in outputs]
    return ref


def shot_rate(shot: TimelineShot) -> float:
    return shot.clip.trimmed_range().duration.rate


# -- per-frame operations: inpaint, remove_background ------------------------------------------------------


def shots_to_generate(ctx: JobContext, params: ShotParams) -> tuple[otio.schema.Timeline, list[TimelineShot]]:
    """The job's timeline and its shots to work on, refused before anything is sent when a shot has no
    frames or more than params.max_frames."""
    timeline = load_timeline(ctx, params.timeline)
    shots = shots_of(ctx, timeline, params.media, params.shots or None)
    empty = [s.name for s in shots if s.end_frame <= s.start_frame]
    if empty:
        raise OperationError(f"Shot(s) {', '.join(empty)} have no frames (zero duration); there is nothing to "
                             "send. Give them a duration or leave them out of params.shots.", field="params.shots")
    too_long = [f"{s.name} ({s.end_frame - s.start_frame})" for s in shots
                if s.end_frame - s.start_frame > params.max_frames]
    if too_long:
        raise OperationError(f"Shot(s) {', '.join(too_long)} have more frames than max_frames "
                             f"({params.max_frames}); each frame is a provider request. Trim the shot, or "
                             "raise max_frames.", field="params.max_frames")
    return timeline, shots


class PerFrame(Generative):
    """Each frame of each shot through the provider; the frames come back as a take on the clip."""

    take_prefix = ""
    # Each frame is gated when the job names characters: an inpaint can change who a frame shows. Not on
    # the shot's own list: filling a rig on a frame where the character is off-screen must not fail.
    identity_gated = True

    def inputs(self, ctx: JobContext, params: ShotParams) -> list[InputImage]:
        return []

    def run(self, ctx: JobContext, params: ShotParams) -> GenerationResult:
        timeline, shots = shots_to_generate(ctx, params)
        self.check_shots(params, shots)
        extra = self.inputs(ctx, params)
        refs = {s.name: references(ctx, params, s.characters) for s in shots}
        gate = IdentityGate.for_job(ctx, params.characters) if self.identity_gated else None
        check_before_sending(ctx, params, set(self.input_kinds) | {i.kind for i in extra},
                             [r for rs in refs.values() for r in rs])
        recorder, outcomes, warnings = Recorder(ctx, self, params), [], []
        total = sum(s.end_frame - s.start_frame for s in shots) or 1
        done = 0
        for shot in shots:
            key = next_take_key(shot.clip, self.take_prefix)
            name = recorder.stem(f"{shot.name}_{key}")
            outputs, generated, verdicts = [], None, []
            source = open_shot(shot)
            length = shot.end_frame - shot.start_frame
            try:  # an operation that sends a whole movie in one request (edit_shot on a video model)
                whole = self.whole_shot(ctx, params, shot, source, key, name, recorder,
                                        (done / total, (done + length) / total))
            except BaseException:
                source.close()
                raise
            if whole is not None:
                source.close()
                outcomes.append(whole)
                if whole.identity is not None and not whole.identity.passed:
                    warnings.append(failing_warning(f"{shot.name} take {key}", whole.identity,
                                                    params.characters or shot.characters))
                done += length
                continue
            if is_still(source):  # a still held on the cut: one request, and the take is a still too
                try:
                    outcomes.append(self._still(ctx, params, shot, source, key, name, extra, refs[shot.name],
                                                recorder, (done / total, (done + 1) / total), gate))
                finally:
                    source.close()
                done += shot.end_frame - shot.start_frame
                continue
            try:
                for frame in range(shot.start_frame, shot.end_frame):
                    span = (done / total, (done + 1) / total)
                    ctx.progress(span[0], f"{shot.name}: frame {frame - shot.start_frame + 1} of "
                                          f"{shot.end_frame - shot.start_frame}")
                    plate = write_frame(ctx, source, frame, f"{shot.name}_{frame}")

                    def attempt(seed, plate=plate, frame=frame, span=span, shot=shot):
                        request = GenerationRequest(
                            task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt,
                            seed=seed, options=dict(params.options),
                            inputs=[InputImage(IMAGE, plate, DataKind.plate, shot.sha256), *extra,
                                    *refs[shot.name]])
                        generated = ctx.generate(request, span)
                        if not generated.files:
                            raise OperationError(f"{ctx.provider.name} returned nothing for {shot.name} "
                                                 f"frame {frame}")
                        return generated

                    generated, _files, verdict = gated(gate, params.seed, 1, attempt, lambda g: g.files[:1])
                    if verdict is not None:
                        verdicts.append(verdict)
                    ingredients = [(plate, f"{shot.media_name} frame {frame}", "image/png")]
                    ingredients += [(i.path, i.role, image_type(i.path)) for i in extra]
                    outputs.append(recorder.store(generated.files[0], f"{name}.{frame:04d}.png", generated,
                                                  ingredients))
                    done += 1
            finally:
                source.close()
            identity = sequence_identity(verdicts)
            facts = recorder.facts(generated, outputs, params.characters or shot.characters,
                                   **self.fact_extra(), **identity_fact(identity))
            ref = sequence_ref(name, outputs, shot.start_frame, shot_rate(shot), shot.clip.trimmed_range(), facts)
            add_take(shot.clip, ref, key)
            if identity is not None and not identity.passed:
                warnings.append(failing_warning(f"{shot.name} take {key}", identity, params.characters))
            outcomes.append(ShotOutcome(shot=shot.name, take=key, frames=len(outputs), model=generated.model,
                                        seed=generated.seed, identity=identity,
                                        notes=conditioning_note(ctx, params, shot.characters)))
        ctx.progress(1.0, f"{len(outcomes)} take(s)")
        return GenerationResult(provider=ctx.provider.name, shots=outcomes, warnings=warnings,
                                timeline=timeline_output(ctx, timeline, params.timeline, self.name))

    def fact_extra(self) -> dict[str, Any]:
        return {}

    def check_shots(self, params: ShotParams, shots: list[TimelineShot]) -> None:
        """Refuse parameters that do not fit the shots, before anything is sent (OperationError)."""

    def whole_shot(self, ctx: JobContext, params: ShotParams, shot: TimelineShot, source, key: str, name: str,
                   recorder: Recorder, span: tuple[float, float]) -> ShotOutcome | None:
        """The shot's take made in one request, or None to go frame by frame (the default)."""
        return None

    def _still(self, ctx: JobContext, params: ShotParams, shot: TimelineShot, source, key: str, name: str,
               extra: list[InputImage], refs: list[InputImage], recorder: Recorder,
               span: tuple[float, float], gate: IdentityGate | None = None) -> ShotOutcome:
        ctx.progress(span[0], f"{shot.name}: a still image")
        plate = write_frame(ctx, source, 0, f"{shot.name}_still")

        def attempt(seed):
            request = GenerationRequest(
                task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                options=dict(params.options),
                inputs=[InputImage(IMAGE, plate, DataKind.plate, shot.sha256), *extra, *refs])
            generated = ctx.generate(request, span)
            if not generated.files:
                raise OperationError(f"{ctx.provider.name} returned nothing for {shot.name}")
            return generated

        generated, _files, identity = gated(gate, params.seed, 1, attempt, lambda g: g.files[:1])
        ingredients = [(plate, shot.media_name, "image/png"), *((i.path, i.role, image_type(i.path)) for i in extra)]
        output = recorder.store(generated.files[0], f"{name}.png", generated, ingredients)
        facts = recorder.facts(generated, [output], params.characters or shot.characters, **self.fact_extra(),
                               **identity_fact(identity))
        ref = otio.schema.ExternalReference(target_url=f"./{name}.png", available_range=shot.clip.trimmed_range())
        set_facts(ref, facts)
        ref.metadata["shotbridge"]["frames"] = [output.sha256]
        add_take(shot.clip, ref, key)
        return ShotOutcome(shot=shot.name, take=key, frames=1, model=generated.model, seed=generated.seed,
                           identity=identity, notes=[*conditioning_note(ctx, params, shot.characters),
                                  f"{shot.media_name} is a still image: one request, and the take is a still"])


def sequence_identity(verdicts: list[IdentityFacts]) -> IdentityFacts | None:
    """One verdict for a take gated frame by frame: it passes when every frame did; its distance is the worst
    frame's and its attempts the most any frame needed."""
    if not verdicts:
        return None
    distances = [v.distance for v in verdicts if v.distance is not None]
    worst = max(distances) if distances else None
    return verdicts[0].model_copy(update={
        "passed": all(v.passed for v in verdicts), "distance": worst,
        "score": None if worst is None else round(1.0 - worst * worst / 4.0, 4),
        "attempts": max(v.attempts for v in verdicts), "frames": sum(v.frames for v in verdicts)})


def is_still(source) -> bool:
    from ..vision.frames import StillSource

    return isinstance(source, StillSource)


class InpaintParams(ShotParams):
    mask: PickedAssetRef = Field(description="White where the picture is to be filled (one mask for every frame)")


class Inpaint(PerFrame):
    name = "inpaint"
    title = "Inpaint"
    description = ("Fills the masked area of every frame of the shots (rigs, wires, logos, boom mics); each shot "
                   "gets the result as a new take.")
    params = InpaintParams
    task = Task.inpaint
    take_prefix = "inpaint"
    input_kinds = frozenset({DataKind.plate, DataKind.mask})

    def inputs(self, ctx: JobContext, params: InpaintParams) -> list[InputImage]:
        return [InputImage(MASK, ctx.asset_path(params.mask), DataKind.mask, params.mask)]


class RemoveBackground(PerFrame):
    name = "remove_background"
    title = "Remove background"
    description = "A matte for every frame of the shots (white = foreground), added to each clip as a matte take."
    params = ShotParams
    task = Task.remove_background
    take_prefix = "matte"
    identity_gated = False  # a matte shows no one

    def fact_extra(self) -> dict[str, Any]:
        return {"kind": "matte", "channel": "rgba.red"}  # grey mattes: any channel holds the matte


# -- new clips: extend_shot, fill_gap ----------------------------------------------------------------------


def place_new_clip(ctx: JobContext, recorder: Recorder, timeline: otio.schema.Timeline, name: str,
                   frames: list[Path], generated, ingredients, rate: float, record_start, facts_extra: dict,
                   characters: list[str]) -> otio.schema.Clip:
    stem = recorder.stem(name)
    outputs = [recorder.store(path, f"{stem}.{FIRST_NEW_FRAME + i:04d}.png", generated, ingredients)
               for i, path in enumerate(frames)]
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(FIRST_NEW_FRAME, rate),
                                        otio.opentime.RationalTime(len(outputs), rate))
    facts = recorder.facts(generated, outputs, characters, **facts_extra)
    clip = otio.schema.Clip(name=name, source_range=available,
                            media_reference=sequence_ref(stem, outputs, FIRST_NEW_FRAME, rate, available, facts))
    set_facts(clip, facts)
    try:
        place_on_track(timeline, AI_TRACK, clip, record_start)
    except ValueError as exc:  # ExchangeError: the AI track is occupied there
        raise OperationError(str(exc)) from exc
    return clip


def identity_fact(identity: IdentityFacts | None) -> dict[str, Any]:
    return {"identity": identity} if identity is not None else {}


def record_range(timeline: otio.schema.Timeline, item) -> otio.opentime.TimeRange:
    """The item's range in the timeline's own time (global start included)."""
    rng = item.range_in_parent()
    if timeline.global_start_time is not None:
        rng = otio.opentime.TimeRange(rng.start_time + timeline.global_start_time.rescaled_to(rng.start_time.rate),
                                      rng.duration)
    return rng


class ExtendParams(ShotParams):
    frames_before: int = Field(default=0, ge=0, le=2400, description="New frames before each shot's first")
    frames_after: int = Field(default=0, ge=0, le=2400, description="New frames after each shot's last")

    @model_validator(mode="after")
    def _some_frames(self) -> ExtendParams:
        if not (self.frames_before or self.frames_after):
            raise ValueError("set frames_before or frames_after (or both) above 0")
        return self


class ExtendShot(Generative):
    name = "extend_shot"
    title = "Extend shot"
    description = ("New frames before or after each shot, conditioned on its first or last frame; they land on "
                   "the ShotBridge AI track next to the shot.")
    params = ExtendParams
    task = Task.image_to_video

    def run(self, ctx: JobContext, params: ExtendParams) -> GenerationResult:
        timeline = load_timeline(ctx, params.timeline)
        shots = shots_of(ctx, timeline, params.media, params.shots or None)
        refs = {s.name: references(ctx, params, s.characters) for s in shots}
        gates = {s.name: IdentityGate.for_job(ctx, params.characters or s.characters) for s in shots}
        check_before_sending(ctx, params, {DataKind.plate}, [r for rs in refs.values() for r in rs])
        recorder, outcomes, warnings = Recorder(ctx, self, params), [], []
        sides = [(side, n) for side, n in (("before", params.frames_before), ("after", params.frames_after)) if n]
        jobs = [(shot, side, n) for shot in shots for side, n in sides]
        for index, (shot, side, wanted) in enumerate(jobs):
            span = (index / len(jobs), (index + 1) / len(jobs))
            rng = record_range(timeline, shot.clip)
            rate = shot_rate(shot)
            start = rng.start_time - otio.opentime.RationalTime(wanted, rate) if side == "before" else \
                rng.end_time_exclusive()
            if start.value < (timeline.global_start_time.rescaled_to(rate).value if timeline.global_start_time
                              else 0):
                raise OperationError(f"Shot '{shot.name}' starts the cut: {wanted} frames before it would start "
                                     "before the timeline does. Extend after it, or make room in the cut first.",
                                     field="params.frames_before")
            source = open_shot(shot)
            try:
                frame = shot.start_frame if side == "before" else shot.end_frame - 1
                anchor = write_frame(ctx, source, frame, f"{shot.name}_{side}")
                size = source.size
            finally:
                source.close()
            ctx.progress(span[0], f"{shot.name}: {wanted} frames {side}")

            def attempt(seed, shot=shot, side=side, wanted=wanted, rate=rate, size=size, anchor=anchor, span=span):
                request = GenerationRequest(
                    task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                    frames=wanted, fps=rate, width=size[0], height=size[1], options=dict(params.options),
                    inputs=[InputImage(FIRST_FRAME, anchor, DataKind.plate, shot.sha256), *refs[shot.name]])
                generated = ctx.generate(request, span)
                return generated, as_frames(ctx, generated, wanted, f"{shot.name}_{side}_{generated.seed}")

            (generated, frames), _, identity = gated(gates[shot.name], params.seed, 1, attempt, lambda g: g[1])
            if side == "before":
                # Conditioned on the shot's first frame and played backwards, the new frames lead into it.
                frames = frames[::-1]
                start = rng.start_time - otio.opentime.RationalTime(len(frames), rate)
            notes = conditioning_note(ctx, params, shot.characters)
            if len(frames) < wanted:
                notes.append(f"{ctx.provider.name} made {len(frames)} of the {wanted} frames asked for")
            characters = params.characters or shot.characters
            clip = place_new_clip(ctx, recorder, timeline, f"{shot.name}_ext_{side}", frames, generated,
                                  [(anchor, f"{shot.media_name} frame {frame}", "image/png")], rate, start,
                                  {"extends": shot.name, "side": side, **identity_fact(identity)}, characters)
            if identity is not None and not identity.passed:
                warnings.append(failing_warning(clip.name, identity, characters))
            outcomes.append(ShotOutcome(shot=shot.name, clip=clip.name, frames=len(frames), model=generated.model,
                                        seed=generated.seed, identity=identity, notes=notes))
        ctx.progress(1.0, f"{len(outcomes)} extension(s)")
        return GenerationResult(provider=ctx.provider.name, shots=outcomes, warnings=warnings,
                                timeline=timeline_output(ctx, timeline, params.timeline, self.name))


class FillGapParams(Conditioning):
    timeline: TimelineRef = Field(description="The cut (an uploaded OTIO timeline)")
    media: list[AssetRef] = Field(default_factory=list, description="The media the timeline's clips use")
    track: str = Field(default="", description="The video track with the gaps (default: the first)")
    gaps: list[int] = Field(default_factory=list, description="Which gaps, counted from 1 (default: every gap)")
    max_frames: int = Field(default=480, ge=1, le=10_000, description="Refuse a gap longer than this")


class FillGap(Generative):
    name = "fill_gap"
    title = "Fill gap"
    description = ("A new shot for a gap in the cut, conditioned on the last frame before it and the first "
                   "after it; it lands on the ShotBridge AI track over the gap.")
    params = FillGapParams
    task = Task.image_to_video

    def run(self, ctx: JobContext, params: FillGapParams) -> GenerationResult:
        timeline = load_timeline(ctx, params.timeline)
        tracks = list(timeline.video_tracks())
        track = next((t for t in tracks if t.name == params.track), None) if params.track else \
            (tracks[0] if tracks else None)
        if track is None:
            raise OperationError(f"No video track {params.track!r}; the timeline has "
                                 f"{', '.join(repr(t.name) for t in tracks) or 'none'}.", field="params.track")
        gaps = [(i, item) for i, item in enumerate(track) if isinstance(item, otio.schema.Gap)
                and item.duration().value > 0]
        chosen = [gaps[n - 1] for n in params.gaps if 0 < n <= len(gaps)] if params.gaps else gaps
        if not chosen or len(chosen) < len(params.gaps):
            raise OperationError(f"Track '{track.name}' has {len(gaps)} gap(s); asked for {params.gaps or 'any'}.",
                                 field="params.gaps")
        long = [str(n) for n, (_i, g) in enumerate(chosen, 1) if g.duration().to_frames() > params.max_frames]
        if long:
            raise OperationError(f"Gap(s) {', '.join(long)} are longer than max_frames ({params.max_frames}).",
                                 field="params.max_frames")
        refs = references(ctx, params, [])
        gate = IdentityGate.for_job(ctx, params.characters)
        check_before_sending(ctx, params, {DataKind.plate}, refs)
        recorder, outcomes, warnings = Recorder(ctx, self, params), [], []
        for n, (index, gap) in enumerate(chosen):
            span = (n / len(chosen), (n + 1) / len(chosen))
            rate = gap.duration().rate
            wanted = gap.duration().to_frames()
            anchors, notes = [], conditioning_note(ctx, params, [])
            for role, neighbour, pick in ((FIRST_FRAME, index - 1, "last"), (LAST_FRAME, index + 1, "first")):
                image = self._neighbour_frame(ctx, timeline, track, neighbour, pick, params.media, role)
                if image is None:
                    notes.append(f"no {pick} frame {'before' if role == FIRST_FRAME else 'after'} the gap to "
                                 "condition on")
                else:
                    anchors.append(image)
            ctx.progress(span[0], f"gap {n + 1} of {len(chosen)}: {wanted} frames")
            size = self._size(anchors)

            def attempt(seed, n=n, wanted=wanted, rate=rate, size=size, anchors=anchors, span=span):
                request = GenerationRequest(
                    task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt, seed=seed,
                    frames=wanted, fps=rate, width=size[0] if size else None, height=size[1] if size else None,
                    options=dict(params.options), inputs=[*anchors, *refs])
                generated = ctx.generate(request, span)
                return generated, as_frames(ctx, generated, wanted, f"fill_{n + 1:02d}_{generated.seed}")

            (generated, frames), _, identity = gated(gate, params.seed, 1, attempt, lambda g: g[1])
            if len(frames) < wanted:
                notes.append(f"{ctx.provider.name} made {len(frames)} of the {wanted} frames asked for")
            clip = place_new_clip(ctx, recorder, timeline, f"fill_{track.name or 'V'}_{n + 1:02d}", frames,
                                  generated, [(a.path, a.role, image_type(a.path)) for a in anchors], rate,
                                  record_range(timeline, gap).start_time,
                                  {"fills_gap": n + 1, **identity_fact(identity)}, params.characters)
            if identity is not None and not identity.passed:
                warnings.append(failing_warning(clip.name, identity, params.characters))
            outcomes.append(ShotOutcome(shot=f"gap {n + 1}", clip=clip.name, frames=len(frames),
                                        model=generated.model, seed=generated.seed, identity=identity, notes=notes))
        ctx.progress(1.0, f"{len(outcomes)} gap(s) filled")
        return GenerationResult(provider=ctx.provider.name, shots=outcomes, warnings=warnings,
                                timeline=timeline_output(ctx, timeline, params.timeline, self.name))

    @staticmethod
    def _neighbour_frame(ctx, timeline, track, index: int, pick: str, media: list[str], role: str):
        if not (0 <= index < len(track)) or not isinstance(track[index], otio.schema.Clip):
            return None
        clip = track[index]
        try:
            (shot,) = shots_of(ctx, timeline, media, [clip.name])
        except OperationError:
            return None  # its media was not uploaded: condition on the other side (and the prompt) only
        source = open_shot(shot)
        try:
            frame = shot.end_frame - 1 if pick == "last" else shot.start_frame
            path = write_frame(ctx, source, frame, f"{role}_{clip.name}")
        finally:
            source.close()
        return InputImage(role, path, DataKind.plate, shot.sha256)

    @staticmethod
    def _size(anchors: list[InputImage]) -> tuple[int, int] | None:
        from PIL import Image

        if not anchors:
            return None
        with Image.open(anchors[0].path) as img:
            return img.size


# -- generate_image ----------------------------------------------------------------------------------------


class GenerateImageParams(Conditioning):
    prompt: str = Field(min_length=1, max_length=4000, description="What to make")
    width: int = Field(default=1024, ge=64, le=4096)
    height: int = Field(default=1024, ge=64, le=4096)
    count: int = Field(default=1, ge=1, le=4, description="How many images")
    reference: PickedAssetRef | None = Field(default=None,
                                             description="An image to condition on (concept art, a plate)")


class GenerateImage(Generative):
    name = "generate_image"
    title = "Generate image"
    description = ("Images from a prompt, conditioned on a reference image and on the bible's characters when the "
                   "provider takes references. Each image carries signed Content Credentials.")
    params = GenerateImageParams
    task = Task.text_to_image
    input_kinds = frozenset()

    def data_kinds(self, params: GenerateImageParams, accepts_references: bool) -> set[DataKind]:
        kinds = super().data_kinds(params, accepts_references)
        if params.reference:
            kinds.add(DataKind.reference)
        return kinds

    def run(self, ctx: JobContext, params: GenerateImageParams) -> GenerationResult:
        gate = IdentityGate.for_job(ctx, params.characters)  # even without references sent: who it must show
        inputs = references(ctx, params, [])
        if params.reference:
            inputs.insert(0, InputImage(REFERENCE, ctx.asset_path(params.reference), DataKind.reference,
                                        params.reference))
        check_before_sending(ctx, params, set(), inputs)
        attempts = gate.attempts if gate else 1

        def attempt(seed: int | None):
            n = len(tried)
            tried.append(seed)
            ctx.progress(0.95 * n / attempts, f"asking {ctx.provider.name} for {params.count} image(s)"
                         + (f" (attempt {n + 1} of {attempts}, identity gate)" if n else ""))
            request = GenerationRequest(task=self.task, prompt=params.prompt, negative_prompt=params.negative_prompt,
                                        seed=seed, width=params.width, height=params.height,
                                        count=params.count, options=dict(params.options), inputs=inputs)
            generated = ctx.generate(request, (0.95 * n / attempts, 0.95 * (n + 1) / attempts))
            if not generated.files:
                raise OperationError(f"{ctx.provider.name} returned no image")
            return generated

        tried: list[int | None] = []
        generated, _files, identity = gated(gate, params.seed, params.count, attempt, lambda g: list(g.files))
        recorder = Recorder(ctx, self, params)
        ingredients = [(i.path, i.role, image_type(i.path)) for i in inputs]
        images = [recorder.store(path, f"image_{i + 1:02d}{path.suffix or '.png'}", generated, ingredients)
                  for i, path in enumerate(generated.files)]
        notes = conditioning_note(ctx, params, [])
        warnings = []
        if len(images) < params.count:
            notes.append(f"{ctx.provider.name} made {len(images)} of the {params.count} images asked for")
        if identity is not None and identity.attempts > 1:
            notes.append(f"identity gate: {identity.attempts} generations (seeds {', '.join(map(str, tried))}); "
                         f"kept seed {generated.seed}")
        if identity is not None and not identity.passed:
            warnings.append(failing_warning("generate_image", identity, params.characters))
        ctx.progress(1.0, f"{len(images)} image(s)")
        return GenerationResult(provider=ctx.provider.name, images=images, identity=identity, notes=notes,
                                warnings=warnings)

