"""`detect_shots`: a movie in, an OTIO timeline of its shots out (PySceneDetect's content detector)."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
from pydantic import BaseModel, Field

from shotbridge.exchange.facts import Facts, set_facts
from shotbridge.models import AssetRef, OutputRef
from shotbridge.safenames import safe_name

from .base import JobContext, Operation, OperationError
from .contact_sheet import contact_sheet

CHUNK_FRAMES = 48  # frames between progress reports / cancel checkpoints


class DetectShotsParams(BaseModel):
    media: AssetRef = Field(description="The movie to cut into shots (sha256 of an uploaded asset)")
    threshold: float = Field(default=27.0, ge=1.0, le=100.0, description="Content change that makes a cut")
    min_shot_frames: int = Field(default=15, ge=1, le=10_000, description="Shortest shot, in frames")
    name: str = Field(default="", max_length=200, description="Timeline name (default: the file name)")


class DetectedShot(BaseModel):
    index: int
    name: str
    start_frame: int
    end_frame: int = Field(description="Exclusive")
    start_timecode: str
    duration_frames: int


class DetectShotsResult(BaseModel):
    rate: float
    frame_count: int
    width: int
    height: int
    shots: list[DetectedShot]
    timeline: OutputRef = Field(description="The OTIO timeline of the shots")
    thumbnail: OutputRef | None = Field(default=None, description="First frame of each shot")


class DetectShots(Operation):
    name = "detect_shots"
    title = "Detect shots"
    description = "Finds the cuts in a movie and returns an OpenTimelineIO timeline with one clip per shot."
    params = DetectShotsParams
    result = DetectShotsResult
    requires = ("scenedetect", "cv2")

    def run(self, ctx: JobContext, params: DetectShotsParams) -> DetectShotsResult:
        import logging

        from scenedetect import ContentDetector, SceneManager, open_video
        from scenedetect.video_stream import VideoOpenFailure

        logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # it logs every chunk at INFO
        path = ctx.asset_path(params.media)
        filename = ctx.asset_filename(params.media) or path.name
        try:
            video = open_video(str(path))
        except (VideoOpenFailure, OSError, ValueError) as exc:
            raise OperationError(
                f"Cannot read '{filename}' as video: {exc}. detect_shots needs a movie file "
                "(e.g. .mov, .mp4, .mxf with a codec FFmpeg reads).",
                field="params.media",
            ) from exc
        total = int(video.duration.frame_num) if video.duration is not None else 0
        if total <= 0 or not video.frame_rate:
            raise OperationError(
                f"'{filename}' has no video frames. detect_shots needs a movie file.", field="params.media"
            )
        rate = float(video.frame_rate)
        manager = SceneManager()
        manager.add_detector(ContentDetector(threshold=params.threshold, min_scene_len=params.min_shot_frames))
        ctx.progress(0.0, f"analysing {total} frames")
        done = 0
        while True:
            read = manager.detect_scenes(video, duration=CHUNK_FRAMES)
            done += read
            ctx.progress(min(done / total, 0.99), f"frame {done} of {total}")
            if read < CHUNK_FRAMES:
                break
        scenes = manager.get_scene_list(start_in_scene=True)
        if not scenes and done:
            scenes = [(video.base_timecode, video.base_timecode + done)]
        width, height = video.frame_size
        shots = []
        for i, (start, end) in enumerate(scenes, 1):
            s, e = int(start.frame_num), int(end.frame_num)
            shots.append(
                DetectedShot(
                    index=i, name=f"shot_{i:03d}", start_frame=s, end_frame=e,
                    start_timecode=otio.opentime.to_timecode(otio.opentime.RationalTime(s, rate), rate),
                    duration_frames=e - s,
                )
            )
        timeline = build_timeline(params.name or Path(filename).stem, filename, params.media, rate, done, shots,
                                  (width, height))
        out = ctx.work_dir / safe_name(f"{Path(filename).stem}.otio", default="shots.otio")
        otio.adapters.write_to_file(timeline, str(out))
        ref = ctx.add_output(out, out.name, "application/vnd.opentimelineio+json")
        thumbnail = contact_sheet(ctx, _frames_at(path, [s.start_frame for s in shots]))
        ctx.progress(1.0, f"{len(shots)} shots")
        return DetectShotsResult(
            rate=rate, frame_count=done, width=width, height=height, shots=shots, timeline=ref, thumbnail=thumbnail
        )


def _frames_at(path: Path, frames: list[int]) -> list:
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        for f in frames:
            cap.set(cv2.CAP_PROP_POS_FRAMES, f)
            ok, bgr = cap.read()
            if ok:
                out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    return out


def build_timeline(
    name: str, filename: str, sha: str, rate: float, frames: int, shots: list[DetectedShot], size: tuple[int, int]
) -> otio.schema.Timeline:
    """One video track, a clip per shot, each referencing the source movie by name and content hash."""
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for shot in shots:
        media = otio.schema.ExternalReference(
            target_url=filename,
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(frames, rate)
            ),
        )
        set_facts(media, Facts(asset_sha256=sha, width=size[0], height=size[1]))
        clip = otio.schema.Clip(
            name=shot.name,
            media_reference=media,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(shot.start_frame, rate),
                otio.opentime.RationalTime(shot.duration_frames, rate),
            ),
        )
        set_facts(clip, Facts(id=f"{sha[:12]}-{shot.start_frame}", operation="detect_shots"))
        track.append(clip)
    return timeline
