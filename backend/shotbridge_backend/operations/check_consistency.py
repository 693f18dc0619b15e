"""`check_consistency`: is every face in every shot the character it should be?"""

from __future__ import annotations

import opentimelineio as otio
from pydantic import BaseModel, Field

from shotbridge.exchange.facts import Facts, get_facts, update_facts
from shotbridge.exchange.markers import add_finding
from shotbridge.models import AssetRef, OutputRef, TimelineRef

from .base import JobContext, Operation, OperationError
from .contact_sheet import contact_sheet, first_frames
from .timeline_input import TimelineShot, load_timeline, shots_of, timeline_output

DEFAULT_STRIDE = 12  # = vision.DEFAULT_STRIDE, kept here so the catalogue loads without the vision stack


class CheckConsistencyParams(BaseModel):
    timeline: TimelineRef = Field(description="The shots to check (an uploaded OTIO timeline)")
    media: list[AssetRef] = Field(default_factory=list, description="The media the timeline's clips use")
    shots: list[str] = Field(default_factory=list, description="Clip names to check (default: every video clip)")
    stride: int = Field(default=DEFAULT_STRIDE, ge=1, le=240,
                        description="Frames between full detections (every frame is still looked at; faces are "
                                    "followed in between)")
    threshold: float | None = Field(default=None, gt=0.0, le=2.0,
                                    description="Face distance within which a face is a character (model default)")


class CheckConsistencyResult(BaseModel):
    consistency: dict = Field(description="Per shot, per character and per frame results (docs/vision.md, schema 2)")
    drifting_shots: list[str]
    unchecked_shots: list[str] = Field(default_factory=list,
                                       description="Shots where an expected character was never judged")
    summary: dict[str, int] = Field(default_factory=dict, description="Shots per state: consistent, drift, unchecked")
    warnings: list[str] = Field(default_factory=list, description="E.g. characters with a single reference photo")
    timeline: OutputRef = Field(description="The timeline with a RED marker at each drift, YELLOW on unchecked "
                                            "shots, GREEN on consistent ones")
    report: OutputRef = Field(description="A self-contained HTML report for supervisors")
    thumbnail: OutputRef | None = Field(default=None, description="First frame of each shot; drift framed red")


class CheckConsistency(Operation):
    name = "check_consistency"
    title = "Check character consistency"
    description = ("Follows the faces of every frame of each shot, identifies them against the project's character "
                   "bible, and flags frames where a character is not who the shot expects (RED markers); shots "
                   "where an expected character was never seen well enough are UNCHECKED (YELLOW), not passed.")
    params = CheckConsistencyParams
    result = CheckConsistencyResult
    requires = ("dlib", "cv2", "face_recognition_models")

    def run(self, ctx: JobContext, params: CheckConsistencyParams) -> CheckConsistencyResult:
        import numpy as np

        from ..characters import face_model
        from ..vision import ShotSpec, VisionError, check_shots, open_media

        bible = {name: np.array(embs) for name, embs in ctx.bible().items()}
        if not bible:
            raise OperationError("The project's character bible is empty: add characters first "
                                 "(`shotbridge character add NAME IMAGE...`).")
        timeline = load_timeline(ctx, params.timeline)
        shots = shots_of(ctx, timeline, params.media, params.shots or None)
        by_name = {s.name: s for s in shots}
        specs = [ShotSpec(name=s.name, media=s.media_name, start_frame=s.start_frame, end_frame=s.end_frame,
                          characters=s.characters) for s in shots]
        ctx.progress(0.0, f"checking {len(specs)} shot(s) against {len(bible)} character(s)")
        try:
            result = check_shots(specs, bible, face_model(), stride=params.stride, threshold=params.threshold,
                                 progress=ctx.progress, open_source=lambda spec: open_media(by_name[spec.name].path))
        except VisionError as exc:
            raise OperationError(str(exc)) from exc
        for shot in result.shots:
            mark_findings(by_name[shot.name], shot.findings, ctx.job_id)
            mark_state(by_name[shot.name], shot, ctx.job_id)
        timeline_ref = timeline_output(ctx, timeline, params.timeline, "consistency")
        report = write_report(ctx, [result.to_json_dict()], shots, "Character consistency")
        drifting = {i for i, s in enumerate(result.shots) if s.drift}
        thumbnail = contact_sheet(ctx, first_frames(shots), marked=drifting)
        ctx.progress(1.0, f"{result.summary['drift']} of {len(result.shots)} shot(s) drift, "
                          f"{result.summary['unchecked']} unchecked")
        return CheckConsistencyResult(
            consistency=result.to_json_dict(),
            drifting_shots=[s.name for s in result.shots if s.state == "drift"],
            unchecked_shots=[s.name for s in result.shots if s.state == "unchecked"],
            summary=result.summary,
            warnings=result.warnings,
            timeline=timeline_ref,
            report=report,
            thumbnail=thumbnail,
        )


def mark_findings(shot: TimelineShot, findings, job_id: str) -> None:
    """A RED marker per drift on the clip, in the clip's source time, the finding in its metadata."""
    clip = shot.clip
    rate = clip.trimmed_range().start_time.rate
    origin = clip.trimmed_range().start_time - otio.opentime.RationalTime(shot.start_frame, rate)
    recorded = []
    for f in findings:
        data = {"kind": "drift", "job_id": job_id, "operation": "check_consistency", "expected": f.expected,
                "found": f.found, "frames": [f.start_frame, f.end_frame - 1], "similarity": f.similarity,
                "exact": f.exact, "message": f.message}
        add_finding(clip, otio.opentime.TimeRange(origin + otio.opentime.RationalTime(f.start_frame, rate),
                                                  otio.opentime.RationalTime(f.end_frame - f.start_frame, rate)),
                    data, name=f"drift: {f.found or 'unknown'} instead of {f.expected}")
        recorded.append(data)
    if recorded:
        facts = get_facts(clip) or Facts()
        update_facts(clip, findings=[*facts.findings, *recorded])


STATE_COLOURS = {"consistent": otio.schema.MarkerColor.GREEN, "unchecked": otio.schema.MarkerColor.YELLOW}


def mark_state(shot: TimelineShot, result, job_id: str) -> None:
    """One marker over the checked range saying the shot's state (drift has its RED markers already): GREEN
    consistent, YELLOW unchecked with the reason and, per character, the frames that could not be judged."""
    if result.state == "drift":
        return
    clip = shot.clip
    rate = clip.trimmed_range().start_time.rate
    origin = clip.trimmed_range().start_time - otio.opentime.RationalTime(shot.start_frame, rate)
    data = {"kind": result.state, "job_id": job_id, "operation": "check_consistency", "reason": result.reason,
            "frames": [result.start_frame, result.end_frame - 1],
            "characters": {c.name: {"state": c.state, "reason": c.reason,
                                    "unchecked": [[sp.start_frame, sp.end_frame - 1, sp.reason] for sp in c.unchecked]}
                           for c in result.characters}}
    if result.state == "consistent":
        name = "consistent"
        data["message"] = "consistent: " + ", ".join(f"{c.name} matched on {c.frames_seen} frame(s)"
                                                     for c in result.characters)
    else:
        name = data["message"] = f"unchecked: {result.reason}"
    add_finding(clip, otio.opentime.TimeRange(origin + otio.opentime.RationalTime(result.start_frame, rate),
                                              otio.opentime.RationalTime(result.end_frame - result.start_frame, rate)),
                data, name=name, color=STATE_COLOURS[result.state])


def write_report(ctx: JobContext, results: list[dict], shots: list[TimelineShot], title: str) -> OutputRef:
    from ..vision import FileMedia
    from ..vision import write_report as render

    media = FileMedia({s.media_name: s.path for s in shots})
    try:
        path = render(results, media, ctx.work_dir / "report", title=title)
    finally:
        media.close()
    return ctx.add_output(path, "report.html", "text/html")
