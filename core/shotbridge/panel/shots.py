"""The shot table's rows, read from an OTIO timeline: timecodes, and badges from what ShotBridge writes on clips.

Where each badge comes from:
- drift: check_consistency's RED markers (`metadata["shotbridge"]["kind"] == "drift"`, in the clip's source
  time, who was expected and found in the marker's metadata);
- CDL: `metadata["cdl"]` (ASC SOP/SAT, the key OTIO's EDL and ALE adapters use);
- takes: media references beyond DEFAULT_MEDIA that are takes (exchange/takes.is_take) and the active key;
- AI-generated: the active take's facts (operation, provider, model) and its Content Credentials reference
  (`provenance`); "verified" only once the backend verified the active take's credentials (the panel asks it
  as takes arrive and in the review view) or the facts say a verification passed (`credential_verified`);
- stale: nothing marks a clip stale on its own; `mark_stale` derives it from a diff (schema 2) against an
  earlier cut: a shot that was slipped, trimmed, retimed or replaced, or whose takes the diff lists as stale.
Frames in a row count from the shot's first frame in the cut (0), which is what hosts seek to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import opentimelineio as otio

from ..exchange.anydict import plain
from ..exchange.markers import list_findings
from ..exchange.takes import DEFAULT, is_take
from ..timeline_upload import local_path

# Cut changes after which a take made for the old frames no longer fits (diff.py's "cut" kinds).
STALE_KINDS = {"slipped", "replaced", "trimmed_head", "trimmed_tail", "retimed", "moved"}
PATTERN = re.compile(r"(#+|%0?(\d*)d)")


@dataclass(frozen=True)
class DriftRange:
    start: int  # frames from the shot's first frame, inclusive
    end: int  # inclusive
    expected: str = ""
    found: str = ""
    similarity: float | None = None
    message: str = ""

    def describe(self) -> str:
        who = f"expected {self.expected or '?'}, found {self.found or 'someone else'}"
        score = f" (similarity {self.similarity:.2f})" if self.similarity is not None else ""
        return f"frames {self.start}-{self.end}: {who}{score}"


@dataclass(frozen=True)
class Badge:
    kind: str  # drift | cdl | takes | stale | ai
    text: str
    tooltip: str
    colour: str  # a pill's fill


@dataclass
class ShotRow:
    name: str
    track: str
    rate: float
    source_in: int  # frames at `rate`
    source_out: int  # exclusive
    record_in: int  # frames from the timeline's start (its global start time included)
    record_out: int
    media: Path | None  # the file a thumbnail is made from, None when there is none
    media_frame: int  # the frame in that file (0-based for movies; ignored for stills and sequences)
    media_note: str = ""  # why there is no media
    drift: list[DriftRange] = field(default_factory=list)
    cdl: dict | None = None
    takes: list[str] = field(default_factory=list)
    active_take: str | None = None
    ai: dict | None = None  # operation, provider, model, credential, verified
    position: int = 0  # index among the clips of its track (the diff's ShotState.position)
    stale: str = ""  # why the shot's takes no longer fit the cut ("" when they do)

    @property
    def duration(self) -> int:
        return self.source_out - self.source_in

    def tc(self, frames: int) -> str:
        return timecode(frames, self.rate)

    @property
    def source_tc(self) -> tuple[str, str]:
        return self.tc(self.source_in), self.tc(self.source_out)

    @property
    def record_tc(self) -> tuple[str, str]:
        return self.tc(self.record_in), self.tc(self.record_out)

    @property
    def duration_text(self) -> str:
        return f"{self.duration} ({self.tc(self.duration)})"

    @property
    def badges(self) -> list[Badge]:
        out = []
        if self.drift:
            frames = ", ".join(f"{d.start}-{d.end}" for d in self.drift)
            out.append(Badge("drift", f"drift {frames}", "\n".join(d.describe() for d in self.drift), "#d8483e"))
        if self.cdl is not None:
            sop = self.cdl.get("asc_sop") or {}
            out.append(Badge("cdl", "CDL", f"slope {sop.get('slope')} offset {sop.get('offset')} power "
                                          f"{sop.get('power')} sat {self.cdl.get('asc_sat')}", "#3d7fc4"))
        if self.takes:
            active = self.active_take or "plate"
            out.append(Badge("takes", f"{len(self.takes)} take{'s' * (len(self.takes) > 1)} · {active}",
                             "takes: " + ", ".join(self.takes) + f"\nactive: {active}", "#7a5cc0"))
        if self.stale:
            out.append(Badge("stale", "stale", f"stale after the recut: {self.stale}", "#c98a1c"))
        if self.ai is not None:
            verified = self.ai.get("verified")
            # the backend's verdict once the panel asked it (review.Credential.status), else what the facts say
            state = {"verified": "verified", "invalid": "INVALID", "not_signed": "not signed",
                     "unchecked": "unchecked", "none": "no credential"}.get(
                self.ai.get("credential") or "none", "unverified")
            tip = (f"generated by {self.ai.get('operation') or '?'} on {self.ai.get('provider') or '?'} "
                   f"({self.ai.get('model') or '?'})\nContent Credentials: {state}")
            colour = "#3f9a57" if verified else "#d8483e" if state == "INVALID" else "#6b6b6b"
            out.append(Badge("ai", f"AI · {state}", tip, colour))
        return out

    def status_text(self) -> str:
        """Words a search matches besides the name: each badge's kind and text."""
        return " ".join(f"{b.kind} {b.text}" for b in self.badges)

    def matches(self, text: str) -> bool:
        words = text.lower().split()
        hay = f"{self.name} {self.track} {self.status_text()}".lower()
        return all(w in hay for w in words)


def timecode(frames: int, rate: float) -> str:
    try:
        return otio.opentime.to_timecode(otio.opentime.RationalTime(frames, rate), rate)
    except (ValueError, TypeError):  # rates timecode cannot count in (e.g. 12.5): frames it is
        return f"{frames}f"


def shot_rows(timeline: otio.schema.Timeline | None, base_dir: Path | None = None) -> list[ShotRow]:
    """One row per clip on the video tracks, in track then cut order."""
    if timeline is None:
        return []
    rows = []
    start = timeline.global_start_time
    for index, track in enumerate(timeline.video_tracks()):
        try:
            placed = track.range_of_all_children()  # once per track: asking per clip costs O(clips^2)
        except otio.exceptions.OTIOError:  # a clip with no range anywhere: each clip is placed on its own
            placed = {}
        for position, clip in enumerate(track.find_clips()):
            row = row_of(clip, f"V{index + 1}", timeline, start, base_dir, placed.get(clip))
            row.position = position
            rows.append(row)
    return rows


def trimmed(clip: otio.schema.Clip) -> otio.opentime.TimeRange:
    """The clip's range; a clip with none anywhere (a bare file opened as a clip) counts as empty at 0."""
    try:
        return clip.trimmed_range()
    except otio.exceptions.OTIOError:
        rate = getattr(clip.media_reference, "rate", None) or 24.0
        return otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(0, rate))


def row_of(clip: otio.schema.Clip, track: str, timeline: otio.schema.Timeline,
           start: otio.opentime.RationalTime | None, base_dir: Path | None,
           placed: otio.opentime.TimeRange | None = None) -> ShotRow:
    """`placed`: the clip's range in its track when the caller has it (a clip nested deeper is mapped here)."""
    source = trimmed(clip)
    rate = source.start_time.rate
    record = placed
    if record is None:
        try:
            record = clip.transformed_time_range(source, timeline.tracks)
        except otio.exceptions.OTIOError:  # no range to place it by: it starts the track
            record = source
    rec_in = record.start_time + start if start is not None else record.start_time
    s_in = round(source.start_time.value)
    media, frame, note = media_of(clip, base_dir)
    row = ShotRow(name=clip.name, track=track, rate=rate, source_in=s_in,
                  source_out=s_in + round(source.duration.value),
                  record_in=round(rec_in.rescaled_to(rate).value),
                  record_out=round(rec_in.rescaled_to(rate).value + source.duration.value),
                  media=media, media_frame=frame, media_note=note)
    row.drift = drift_ranges(clip)
    cdl = clip.metadata.get("cdl")
    row.cdl = plain(cdl) if cdl is not None else None  # rows outlive the timeline's C++ objects
    refs = clip.media_references()
    row.takes = [k for k, ref in refs.items() if is_take(k, ref)]
    active = clip.active_media_reference_key
    row.active_take = active if active != DEFAULT and active in row.takes else None
    if row.active_take is not None:
        row.ai = ai_facts(refs[active])
    return row


def drift_ranges(clip: otio.schema.Clip) -> list[DriftRange]:
    first = trimmed(clip).start_time
    out = []
    for marker, data in list_findings(clip, "drift"):
        rng = marker.marked_range
        begin = round((rng.start_time - first).rescaled_to(first.rate).value)
        length = max(1, round(rng.duration.rescaled_to(first.rate).value))
        similarity = data.get("similarity")
        out.append(DriftRange(begin, begin + length - 1, str(data.get("expected") or ""),
                              str(data.get("found") or ""),
                              float(similarity) if isinstance(similarity, (int, float)) else None,
                              str(data.get("message") or "")))
    return sorted(out, key=lambda d: d.start)


def ai_facts(ref: otio.core.MediaReference) -> dict | None:
    """What generated a take, from its facts; None for a take an editor made."""
    data = plain(ref.metadata.get("shotbridge") or {})
    if not (data.get("operation") or data.get("provider") or data.get("job_id")):
        return None
    return {"operation": data.get("operation"), "provider": data.get("provider"), "model": data.get("model"),
            "credential": "verified" if data.get("credential_verified") else data.get("provenance"),
            "verified": bool(data.get("credential_verified"))}


def media_of(clip: otio.schema.Clip, base_dir: Path | None = None) -> tuple[Path | None, int, str]:
    """The file showing the shot's first frame, that frame's index in it, and why there is none."""
    ref = clip.media_reference
    first = trimmed(clip).start_time
    if isinstance(ref, otio.schema.ImageSequenceReference):
        number = round(first.rescaled_to(ref.rate or first.rate).value)  # no available range: time is frames
        if ref.available_range is not None:
            try:
                number = ref.frame_for_time(first)
            except (ValueError, IndexError, otio.exceptions.OTIOError):
                number = ref.start_frame
        name = f"{ref.name_prefix}{number:0{ref.frame_zero_padding}d}{ref.name_suffix}"
        return local_path(ref.target_url_base.rstrip("/") + "/" + name, base_dir), 0, ""
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        avail = ref.available_range
        offset = first - avail.start_time if avail is not None else first
        frame = max(0, round(offset.rescaled_to(first.rate).value))
        url = ref.target_url
        matches = list(PATTERN.finditer(url))
        if matches:  # frame.%04d.exr / frame.####.exr named as one file: the frame's own file
            m = matches[-1]
            pad = len(m.group(1)) if m.group(1).startswith("#") else int(m.group(2) or 1)
            url = f"{url[:m.start()]}{round(first.value):0{pad}d}{url[m.end():]}"
            frame = 0
        return local_path(url, base_dir), frame, ""
    if isinstance(ref, otio.schema.GeneratorReference):
        return None, 0, f"generated in the editor ({ref.generator_kind or 'generator'})"
    return None, 0, "no media linked (offline clip)"


def mark_stale(rows: list[ShotRow], diff) -> int:
    """Flag rows the recut made stale (`diff`: exchange.diff.TimelineDiff from the earlier cut to this one);
    returns how many were flagged. Rows are matched by track and place in it (editors reuse names)."""
    reasons: dict[tuple[str, int], list[str]] = {}
    for change in diff.changes:
        if change.kind in STALE_KINDS and change.new is not None:
            text = change.detail or change.kind.replace("_", " ")
            reasons.setdefault((change.new.track, change.new.position), []).append(text)
    by_name: dict[str, list[ShotRow]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    for take in diff.stale_takes:  # a take's clip by name, where the name is the shot's alone
        named = by_name.get(take.clip, [])
        if len(named) == 1:
            reasons.setdefault((named[0].track, named[0].position), []).append(f"take {take.take}: {take.reason}")
    flagged = 0
    for row in rows:
        found = reasons.get((row.track, row.position))
        if found:
            row.stale = "; ".join(dict.fromkeys(found))
            flagged += 1
    return flagged
