"""Read and write what a crew hands over, through OTIO's adapters, without crashing and without silent loss.

`read` returns the timeline (or whatever the file's root is: a bin of clips from ALE/FCPX, a lone clip) and
the warnings for every repair it made; what it cannot read faithfully is refused with the line or element.
`write` refuses what a format cannot hold, or writes what it can and returns warnings listing what was
dropped.
"""

from __future__ import annotations

import json
import re
import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import opentimelineio as otio

from . import edl, xml_checks
from .errors import ExchangeError, UnsupportedContent

FORMATS = {
    ".otio": "otio_json", ".otioz": "otioz", ".otiod": "otiod", ".edl": "cmx_3600", ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml", ".aaf": "AAF", ".ale": "ale",
}
# Newer OTIO schema versions we can read by moving their new fields into metadata.
DOWNGRADES = {"Marker.3": "Marker.2"}


@dataclass
class ReadResult:
    timeline: otio.core.SerializableObject
    format: str
    rate: float | None = None
    warnings: list[str] = field(default_factory=list)


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ExchangeError(f"{Path(path).name}: unknown timeline format '{suffix}'. ShotBridge reads and writes "
                            f"{', '.join(sorted(FORMATS))}.")
    return FORMATS[suffix]


def read(path: str | Path, rate: float | None = None) -> ReadResult:
    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise ExchangeError(f"{path}: no such file.")
    name = path.name
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        if fmt == "otio_json":
            return _read_otio_json(path)
        if fmt == "cmx_3600":
            return _read_edl(path, rate)
        if fmt in ("fcp_xml", "fcpx_xml"):
            return _read_xml(path, fmt)
        try:
            obj = otio.adapters.read_from_file(str(path), adapter_name=fmt)
        except Exception as exc:  # adapters raise anything; the user gets one clear error
            raise ExchangeError(f"{name}: the {fmt} adapter could not read the file: {exc}") from exc
    return ReadResult(obj, fmt, _rate_of(obj))


def _read_otio_json(path: Path) -> ReadResult:
    try:  # OTIO parses the file itself; only a file it refuses costs a second look
        obj = otio.adapters.read_from_file(str(path), adapter_name="otio_json")
    except (ValueError, otio.exceptions.OTIOError) as exc:
        return _read_otio_json_repaired(path, exc)
    return ReadResult(obj, "otio_json", _rate_of(obj))


def _read_otio_json_repaired(path: Path, refusal: Exception) -> ReadResult:
    """A file with a byte-order mark, or with schemas newer than this OTIO that we can downgrade."""
    raw = path.read_bytes()
    downgrade = any(f'"{schema}"'.encode() in raw for schema in DOWNGRADES)
    if not downgrade and not raw.startswith(b"\xef\xbb\xbf"):
        _refuse(path, refusal)
    text = raw.decode("utf-8-sig")
    notes: list[str] = []
    if downgrade:
        data = json.loads(text)
        counts: dict[str, int] = {}
        _downgrade(data, counts)
        text = json.dumps(data)
        for schema, n in counts.items():
            notes.append(f"{path.name}: {n} {schema} object(s) written by a newer OTIO read as "
                         f"{DOWNGRADES[schema]}; fields this version lacks kept under metadata['otio_newer']")
    try:
        obj = otio.adapters.read_from_string(text, "otio_json")
    except (ValueError, otio.exceptions.OTIOError) as exc:
        _refuse(path, exc)
    return ReadResult(obj, "otio_json", _rate_of(obj), notes)


def _refuse(path: Path, exc: Exception) -> NoReturn:
    if isinstance(exc, otio.exceptions.UnsupportedSchemaError):
        raise UnsupportedContent(f"{path.name}: {exc} (written by a newer OpenTimelineIO than "
                                 f"{otio.__version__}); update OpenTimelineIO or re-export.") from exc
    raise ExchangeError(f"{path.name}: not a readable OTIO file: {exc}") from exc


def _downgrade(node, counts: dict[str, int]) -> None:
    if isinstance(node, dict):
        schema = node.get("OTIO_SCHEMA")
        if schema in DOWNGRADES:
            counts[schema] = counts.get(schema, 0) + 1
            node["OTIO_SCHEMA"] = DOWNGRADES[schema]
            known = {"OTIO_SCHEMA", "name", "metadata", "marked_range", "color", "comment"}
            extra = {k: node.pop(k) for k in list(node) if k not in known}
            color = node.get("color")
            if isinstance(color, dict):  # Marker.3 colours are Color objects; Marker.2 uses names
                node["color"] = color.get("name") or "RED"
                extra["color"] = color
            if extra:
                node.setdefault("metadata", {})["otio_newer"] = extra
        for value in node.values():
            _downgrade(value, counts)
    elif isinstance(node, list):
        for value in node:
            _downgrade(value, counts)


def _read_edl(path: Path, rate: float | None) -> ReadResult:
    text = path.read_text(encoding="utf-8", errors="replace")
    if rate is not None:  # 23.976 as a clip's rate is meant as 24000/1001, the only one timecode accepts
        rate = rate_arg(repr(rate))
    prepared = edl.prepare(text, path.name, rate)
    try:
        obj = otio.adapters.read_from_string(prepared.text, "cmx_3600", rate=prepared.rate)
    except Exception as exc:  # EDLParseError, ValueError...: point at the line
        raise edl.explain(exc, prepared.text, path.name, prepared.rate) from exc
    _record_origin(obj)
    return ReadResult(obj, "cmx_3600", prepared.rate, prepared.warnings)


def _record_origin(timeline: otio.schema.Timeline) -> None:
    """The CMX reader keeps each track's first record timecode as a negative track source_range start; make it
    the timeline's start timecode instead (what every other format and host uses), tracks that start later
    padded with a gap, so record times survive a trip through OTIO, FCP XML or a host."""
    tracks = [t for t in timeline.tracks if t.source_range is not None and t.source_range.start_time.value <= 0]
    if not tracks or len(tracks) != len(timeline.tracks):
        return
    firsts = [-t.source_range.start_time for t in tracks]
    origin = min(firsts)
    for track, first in zip(tracks, firsts, strict=True):
        track.source_range = None
        if first > origin:
            track.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, first.rate), first - origin)))
    if timeline.global_start_time is None and origin.value:
        timeline.global_start_time = origin


def _read_xml(path: Path, fmt: str) -> ReadResult:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if fmt == "fcpx_xml":  # at the format's true rate, not the whole number the adapter truncates it to
            from . import fcpx_fixes

            with fcpx_fixes.patched():
                obj = otio.adapters.read_from_string(text, fmt)
        else:
            obj = otio.adapters.read_from_string(text, fmt)
    except Exception as exc:
        if fmt == "fcp_xml" and "No top-level sequences" in str(exc):
            raise xml_checks.fcp7_refusal(text, path.name) from exc
        if fmt == "fcpx_xml":
            raise xml_checks.fcpx_refusal(text, path.name, f"fails ({type(exc).__name__}: {exc})") from exc
        raise ExchangeError(f"{path.name}: the {fmt} adapter could not read the file: {exc}") from exc
    if fmt == "fcpx_xml" and not any(True for _ in obj.find_clips()) and xml_checks.elements(
            text, xml_checks.FCPX_CLIPS):
        raise xml_checks.fcpx_refusal(text, path.name, "read no clips although the project has some")
    return ReadResult(obj, fmt, _rate_of(obj))


def _rate_of(obj) -> float | None:
    clip = _first_clip(obj)
    return clip.trimmed_range().duration.rate if clip is not None else None


def _first_clip(node):
    """The first clip, found by walking down (find_clips would wrap every clip of a large cut first)."""
    if isinstance(node, otio.schema.Clip):
        return node
    if isinstance(node, otio.schema.Timeline):
        node = node.tracks
    if isinstance(node, (otio.core.Composition, otio.schema.SerializableCollection)):
        for child in node:
            found = _first_clip(child)
            if found is not None:
                return found
    return None


# -- writing -----------------------------------------------------------------------------------------------


def write(obj: otio.core.SerializableObject, path: str | Path, rate: float | None = None) -> list[str]:
    """Write `obj`; returns warnings naming what the format could not hold."""
    path = Path(path)
    fmt = format_of(path)
    obj = _only_timeline(obj, fmt)
    notes = lossy_parts(obj, fmt)
    target = _markers_at_clip_rate(obj) if fmt not in ("otio_json", "otioz", "otiod") else obj
    if fmt == "cmx_3600":
        target = _edl_ready(target, notes)
    elif fmt in ("fcp_xml", "fcpx_xml"):
        target = _with_media_ranges(target)
    if fmt == "fcpx_xml":
        target = _spine_to_the_end(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            kwargs = {"rate": rate} if fmt == "cmx_3600" and rate else {}
            if fmt == "fcpx_xml":
                from . import fcpx_fixes

                with fcpx_fixes.patched():
                    otio.adapters.write_to_file(target, str(tmp), adapter_name=fmt, **kwargs)
            else:
                otio.adapters.write_to_file(target, str(tmp), adapter_name=fmt, **kwargs)
        if fmt == "cmx_3600":
            text, _ = edl.speed_sources(tmp.read_text(encoding="utf-8"), rate or _edl_rate(target))
            tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except Exception as exc:
        raise UnsupportedContent(f"{path.name}: the {fmt} adapter cannot write this timeline: {exc}") from exc
    finally:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
    return [f"{path.name}: {n}" for n in notes]


def _only_timeline(obj, fmt: str):
    """An FCPX file's project comes as a bin holding one timeline: other formats hold that timeline."""
    if fmt in ("otio_json", "otioz", "otiod") or not isinstance(obj, otio.schema.SerializableCollection):
        return obj
    children = [obj[i] for i in range(len(obj))]
    if len(children) == 1 and isinstance(children[0], otio.schema.Timeline):
        return children[0]
    return obj


def lossy_parts(obj, fmt: str) -> list[str]:
    """What `fmt` cannot carry of `obj`, one sentence each (empty for OTIO's own formats)."""
    if fmt in ("otio_json", "otioz", "otiod"):
        return []
    notes = []
    if not isinstance(obj, otio.schema.Timeline):
        raise UnsupportedContent(f"a {obj.schema_name()} is not a timeline; {fmt} files hold timelines. "
                                 "Put the clips in a timeline first.")
    clips = list(obj.find_clips())
    takes = sum(_takes(c) for c in clips)
    if takes:
        notes.append(f"{takes} take(s) other than each clip's active one are not written ({fmt} holds one "
                     "media reference per clip)")
    if fmt == "cmx_3600":
        video = [t for t in obj.video_tracks() if _holds_clips(t)]
        if len(video) > 1:
            dropped = sum(len(list(t.find_clips())) for t in video[1:])
            notes.append(f"only the first video track is written; {len(video) - 1} more track(s) with {dropped} "
                         f"clip(s) dropped ({', '.join(t.name or '?' for t in video[1:])})")
        sounds = sum(1 for t in obj.audio_tracks() for _ in t.find_clips())
        if sounds:
            notes.append(f"audio tracks are not written ({sounds} clip(s)): OTIO's CMX writer writes the video "
                         "track's events only")
        keys = sorted({k for c in clips for k in c.metadata if k not in ("cmx_3600", "cdl")})
        if keys:
            notes.append(f"clip metadata {', '.join(keys)} not written (an EDL holds reel, name, CDL and "
                         "markers only)")
    if fmt == "fcp_xml":
        seqs = [c.name for c in clips if isinstance(c.media_reference, otio.schema.ImageSequenceReference)]
        if seqs:
            raise UnsupportedContent(
                f"{len(seqs)} clip(s) use image sequences ({', '.join(seqs[:5])}), which FCP7 XML cannot "
                "reference; write OTIO, or an EDL (reels only)")
    if fmt == "ale":
        notes.append("an ALE is a bin of clips: the cut's tracks, order and record positions are not written "
                     "(write OTIO, an EDL or XML to keep the cut)")
    return notes


def _edl_rate(timeline: otio.schema.Timeline) -> float:
    """The rate the CMX writer uses when none is given: the first track's."""
    return timeline.tracks[0].duration().rate


def _holds_clips(track: otio.schema.Track) -> bool:
    return any(isinstance(item, otio.schema.Clip) for item in track)


def _edl_ready(obj: otio.schema.Timeline, notes: list[str]) -> otio.schema.Timeline:
    """A copy holding what an EDL can: the first video track (plus audio tracks), every clip with a reel."""
    copy = obj.deepcopy()
    video = copy.video_tracks()
    # The first track that holds clips: Resolve exports an empty V1 under clips cut on V2.
    first = next((t for t in video if _holds_clips(t)), video[0] if video else None)
    for track in video:
        if track is not first:
            copy.tracks.remove(track)
    audio = copy.audio_tracks()
    if len(audio) > 2:  # the CMX writer refuses more, though it writes none of them (see lossy_parts)
        for track in audio[2:]:
            copy.tracks.remove(track)
    video = copy.video_tracks()
    if video and copy.tracks[0] is not video[0]:
        # The CMX writer writes the events of tracks[0]; an FCPX project lists its audio lane first.
        track = video[0]
        copy.tracks.remove(track)
        copy.tracks.insert(0, track)
    start = copy.global_start_time
    if start is not None and start.value and all(t.source_range is None for t in copy.tracks):
        # The CMX writer ignores the start timecode but honours a track's negative source_range start (as
        # its reader makes it): record times then start where the cut does (01:00:00:00 in most suites).
        for track in copy.tracks:
            track.source_range = otio.opentime.TimeRange(-start, track.duration().rescaled_to(start.rate))
    unnamed = spaced = 0
    for clip in copy.find_clips():
        if (clip.metadata.get("cmx_3600") or {}).get("reel"):
            continue
        letters = _reel_letters(clip)
        if not letters:
            # The adapter would derive an empty reel from a name like "_.mov": an EDL no reader accepts.
            clip.metadata.setdefault("cmx_3600", {})["reel"] = "AX"
            unnamed += 1
        elif " " in letters[:8].rstrip():
            # It keeps spaces too ("UNC Path"), which split the event line into too many fields.
            clip.metadata.setdefault("cmx_3600", {})["reel"] = letters[:8].rstrip().replace(" ", "_")
            spaced += 1
    if unnamed:
        notes.append(f"{unnamed} clip(s) have no letters or digits to make a reel name from; written with "
                     "reel AX (unknown source)")
    if spaced:
        notes.append(f"{spaced} clip(s) would get a reel name with spaces, which splits an EDL event; written "
                     "with underscores")
    return copy


def _markers_at_clip_rate(obj):
    """A copy whose clip markers count frames at their clip's rate. The FCPX reader gives a clip's markers
    the project's rate; OTIO's FCP7, FCPX and CMX writers write a marker's frame number as if at the clip's
    rate, which moves it (frame 170 at 23.976 written as frame 170 of a 25 fps clip)."""
    if not isinstance(obj, otio.schema.Timeline):
        return obj
    if not any(m.marked_range.start_time.rate != c.trimmed_range().duration.rate
               for c in obj.find_clips() for m in c.markers):
        return obj
    copy = obj.deepcopy()
    for clip in copy.find_clips():
        rate = clip.trimmed_range().duration.rate
        for marker in clip.markers:
            rng = marker.marked_range
            if rng.start_time.rate != rate:
                marker.marked_range = otio.opentime.TimeRange(
                    otio.opentime.RationalTime(round(rng.start_time.rescaled_to(rate).value), rate),
                    otio.opentime.RationalTime(max(1, round(rng.duration.rescaled_to(rate).value)), rate))
    return copy


def _spine_to_the_end(obj: otio.schema.Timeline) -> otio.schema.Timeline:
    """FCPX hangs every other clip on the primary storyline (the first video track); OTIO's writer fails on a
    clip that starts after it ends. A copy whose first video track runs, with a gap, as long as the cut."""
    if not isinstance(obj, otio.schema.Timeline) or not obj.video_tracks():
        return obj
    spine = obj.video_tracks()[0]
    end = spine.duration()
    longest = max((t.duration() for t in obj.tracks), key=lambda d: d.to_seconds(), default=end)
    if longest.to_seconds() <= end.to_seconds():
        return obj
    copy = obj.deepcopy()
    short = (longest.rescaled_to(end.rate) - end) if end.rate else longest
    copy.video_tracks()[0].append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, short.rate), short)))
    return copy


def _with_media_ranges(obj: otio.schema.Timeline) -> otio.schema.Timeline:
    """FCP7 and FCPX XML describe each file with its duration and start timecode; OTIO's writers fail on media
    without an available range (EDL and hand-made cuts have none): a copy whose such media run from frame 0
    to the last frame the cut uses of each file. Frame 0, not the first frame used: a start that moved with
    the edit would hide a slip from anyone comparing positions within the file."""
    missing = [c for c in obj.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)
               and c.media_reference.available_range is None]
    if not missing:
        return obj
    copy = obj.deepcopy()
    spans: dict[str, otio.opentime.TimeRange] = {}
    clips = [c for c in copy.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)
             and c.media_reference.available_range is None]
    for clip in clips:
        used = clip.trimmed_range()
        used = otio.opentime.range_from_start_end_time(otio.opentime.RationalTime(0, used.start_time.rate),
                                                       used.end_time_exclusive())
        url = clip.media_reference.target_url
        spans[url] = spans[url].extended_by(used) if url in spans else used
    for clip in clips:
        clip.media_reference.available_range = spans[clip.media_reference.target_url]
    return copy


def _reel_letters(clip: otio.schema.Clip) -> str:
    # As the adapter derives it: a file reference's name or URL, else the clip's name.
    ref = clip.media_reference
    source = clip.name or "AX"
    if isinstance(ref, (otio.schema.ExternalReference, otio.schema.ImageSequenceReference)):
        source = ref.name or getattr(ref, "target_url", "") or getattr(ref, "name_prefix", "") or source
    stem = re.sub(r"[.][a-zA-Z]+$", "", Path(source.replace("\\", "/")).name)
    return re.sub(r"[^ a-zA-Z0-9]+", "", stem).strip()


def summary(obj) -> dict:
    """Counts a user checks first (`timeline info`); of an FCPX project, its timeline's lanes and gaps."""
    obj = _only_timeline(obj, "")
    tracks = list(obj.tracks) if isinstance(obj, otio.schema.Timeline) else []
    clips = list(obj.find_clips()) if hasattr(obj, "find_clips") else [obj]
    rate = _rate_of(obj)
    duration = obj.duration() if hasattr(obj, "duration") and tracks else None
    return {
        "name": obj.name,
        "kind": obj.schema_name(),
        "rate": rate,
        "duration_frames": round(duration.value) if duration else None,
        "start_timecode": _start_tc(obj, rate),
        "tracks": [{"name": t.name, "kind": t.kind, "clips": sum(1 for _ in t.find_clips())} for t in tracks],
        "clips": len(clips),
        "markers": sum(len(c.markers) for c in clips) + sum(len(t.markers) for t in tracks),
        "image_sequences": sum(isinstance(c.media_reference, otio.schema.ImageSequenceReference) for c in clips),
        "takes": sum(_takes(c) for c in clips),
    }


def _takes(clip: otio.schema.Clip) -> int:
    """Takes other than the plate (Avid's extra references to the plate's own media are not takes)."""
    from .takes import is_take

    return sum(1 for key, ref in clip.media_references().items() if is_take(key, ref))


def _start_tc(obj, rate: float | None) -> str | None:
    start = getattr(obj, "global_start_time", None)
    if start is None or rate is None:
        return None
    try:
        return otio.opentime.to_timecode(start, start.rate)
    except ValueError:
        return None


def rate_arg(text: str | None) -> float | None:
    """`--rate 23.976` / `24000/1001` / `29.97` as the exact NTSC fraction where one is meant."""
    if text is None:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    value = int(m.group(1)) / int(m.group(2)) if m else float(text)
    for exact in (24000 / 1001, 30000 / 1001, 60000 / 1001):
        if abs(value - exact) < 0.01:
            return exact
    return value
