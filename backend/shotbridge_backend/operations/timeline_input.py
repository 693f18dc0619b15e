"""Shots from an uploaded timeline and its uploaded media, ready for the vision engines.

A clip's media is found by the content hash stamped in its media reference's metadata
(`metadata["shotbridge"]["asset_sha256"]`, as the client stamps it on upload), else by file name among the
job's `media` assets. Image sequences are linked frame by frame into the job's work dir under their names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from shotbridge.exchange.errors import ExchangeError
from shotbridge.exchange.shots import sequence_frame
from shotbridge.exchange.untrusted import read_otio_json
from shotbridge.safenames import inside, safe_name

from .base import JobContext, OperationError


@dataclass
class TimelineShot:
    clip: otio.schema.Clip
    name: str
    media_name: str  # how results and reports name the media (its file name or sequence pattern)
    path: str  # readable here: a stored asset, or a sequence pattern in the work dir
    start_frame: int  # media frame numbers, end exclusive
    end_frame: int
    characters: list[str] = field(default_factory=list)
    sha256: str | None = None  # the stored movie or still (None for an image sequence: one asset per frame)


def load_timeline(ctx: JobContext, sha: str) -> otio.schema.Timeline:
    """The job's timeline, read only once a child process got through it (see exchange/untrusted.py): a file
    built to crash or stall OTIO fails this job, never the backend."""
    name = ctx.asset_filename(sha) or sha
    ctx.progress(0.0, f"checking {name}")
    try:
        obj = read_otio_json(ctx.asset_path(sha), name)
    except ExchangeError as exc:
        raise OperationError(str(exc), field="params.timeline") from None
    if not isinstance(obj, otio.schema.Timeline):
        raise OperationError(f"'{ctx.asset_filename(sha)}' holds a {obj.schema_name()}, not a Timeline.",
                             field="params.timeline")
    return obj


def timeline_output(ctx: JobContext, timeline: otio.schema.Timeline, source_sha: str, kind: str):
    """Store the annotated timeline as a job output named after the input (cut.otio -> cut.KIND.otio)."""
    from shotbridge.models import OTIO_MEDIA_TYPE

    stem = Path(safe_name(ctx.asset_filename(source_sha), default="timeline")).stem
    path = ctx.work_dir / safe_name(f"{stem}.{kind}.otio")
    otio.adapters.write_to_file(timeline, str(path))
    return ctx.add_output(path, path.name, OTIO_MEDIA_TYPE)


def shots_of(ctx: JobContext, timeline: otio.schema.Timeline, media: list[str],
             names: list[str] | None = None) -> list[TimelineShot]:
    """Video clips of the timeline (or those named), each with readable media and a frame range."""
    by_name = {safe_name(ctx.asset_filename(sha), default=sha): sha for sha in media}
    clips = [c for c in timeline.find_clips() if _is_video(c)]
    if names:
        known = {c.name for c in clips}
        missing = [n for n in names if n not in known]
        if missing:
            raise OperationError(f"No clip named {', '.join(map(repr, missing))} in the timeline; its clips are "
                                 f"{', '.join(sorted(known))}.", field="params.shots")
        clips = [c for c in clips if c.name in names]
    return [_shot(ctx, clip, by_name, i) for i, clip in enumerate(clips)]


def _is_video(clip: otio.schema.Clip) -> bool:
    track = clip.parent()
    return not isinstance(track, otio.schema.Track) or track.kind == otio.schema.TrackKind.Video


def _shot(ctx: JobContext, clip: otio.schema.Clip, by_name: dict[str, str], index: int) -> TimelineShot:
    ref = clip.media_reference
    facts = clip.metadata.get("shotbridge") or {}
    characters = list(facts.get("characters") or [])
    rng = clip.trimmed_range()
    if isinstance(ref, otio.schema.ImageSequenceReference):
        pattern = _link_sequence(ctx, clip, ref, by_name, index)
        first = sequence_frame(ref, rng.start_time)
        return TimelineShot(clip, clip.name, _sequence_name(ref), pattern, first,
                            first + rng.duration.to_frames(), characters)
    if not isinstance(ref, otio.schema.ExternalReference):
        raise OperationError(f"Clip '{clip.name}' has no media reference to read (it is a "
                             f"{ref.schema_name()}).", field="params.timeline")
    filename = _basename(ref.target_url)
    sha = (ref.metadata.get("shotbridge") or {}).get("asset_sha256") or by_name.get(safe_name(filename, default=""))
    # A hash stamped in the timeline counts only if this project holds that asset: a timeline must not
    # reach another project's media by naming its hash.
    if not sha or not ctx.asset_filename(sha) or not ctx.asset_path(sha).exists():
        raise OperationError(
            f"Clip '{clip.name}' refers to '{filename}', which was not uploaded with the timeline. Upload it "
            "in the job's media (`shotbridge run OP --input TIMELINE.otio` uploads what a timeline references).",
            field="params.media")
    avail = ref.available_range.start_time if ref.available_range else otio.opentime.RationalTime(0, rng.start_time.rate)
    start = round((rng.start_time - avail).to_frames())
    return TimelineShot(clip, clip.name, ctx.asset_filename(sha) or filename, str(ctx.asset_path(sha)), start,
                        start + rng.duration.to_frames(), characters, sha)


def _basename(url: str) -> str:
    return PurePosixPath(unquote(urlparse(url).path if "://" in url else url.replace("\\", "/"))).name


def _sequence_name(ref: otio.schema.ImageSequenceReference) -> str:
    return f"{ref.name_prefix}{'#' * max(1, ref.frame_zero_padding)}{ref.name_suffix}"


def _link_sequence(ctx: JobContext, clip, ref, by_name: dict[str, str], index: int) -> str:
    """Link the sequence's uploaded frames into the work dir under their own names; return the pattern.

    Uploaded names are safe file names (made so on upload), and a prefix or suffix that holds a separator or
    a leading dot never matches one, so the links and the pattern stay inside the folder."""
    folder = ctx.work_dir / f"seq{index:03d}"
    folder.mkdir(exist_ok=True)
    found = 0
    for name, sha in by_name.items():
        if name.startswith(ref.name_prefix) and name.endswith(ref.name_suffix):
            middle = name[len(ref.name_prefix):len(name) - len(ref.name_suffix)]
            if middle.isdigit():
                target = inside(folder, name, "params.media")
                if not target.exists():
                    os.symlink(ctx.asset_path(sha), target)
                found += 1
    if not found:
        raise OperationError(f"Clip '{clip.name}' is the image sequence '{_sequence_name(ref)}', but none of its "
                             "frames were uploaded with the job's media.", field="params.media")
    return str(Path(folder) / _sequence_name(ref))
