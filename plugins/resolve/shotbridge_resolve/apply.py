"""ShotBridge results back into Resolve, on the timeline item each one belongs to.

    finding (drift)  -> a Red marker on the item over the frames, the finding and job id in customData
    CDL              -> a local colour version "ShotBridge look <digest>" on the item, loaded, with SetCDL on
                        node 1; the colourist's own versions stay as they were
    take             -> imported into the media pool bin "ShotBridge takes", placed on a video track
                        "ShotBridge takes <n>" above the source at the same record frames, disabled unless
                        it is the clip's active (accepted) take, so the cut plays as before; plus a local
                        colour version "ShotBridge <key>" on the source item to grade it against
    cut list         -> (a detect_shots result) a new timeline, see cuts.py

Call on the panel's thread (session.py). Applying the same result again changes nothing: markers are found
by the key in their customData, versions, bins and tracks by name, placed takes by track, record frame
and file. Results for items that are gone are reported, not raised.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import opentimelineio as otio

from shotbridge.exchange.cdl import CDL, get_cdl
from shotbridge.exchange.facts import get_facts
from shotbridge.exchange.markers import list_findings
from shotbridge.exchange.takes import DEFAULT
from shotbridge.hashing import sha256_json
from shotbridge.timeline_upload import local_path

from . import bins, cuts
from .items import ItemInfo, Sequence, parse_sequence, video_items
from .session import ResolveSession, ResolveStateError
from .timeline_otio import KEY, item_id

if TYPE_CHECKING:
    from fusionscript import MediaPool, MediaPoolItem, Timeline, TimelineItem

TAKES_BIN = "ShotBridge takes"
TAKES_TRACK = "ShotBridge takes"
MARKER_COLOR = "Red"
LOCAL = 0  # colour version type: local (1 would be remote)
# OTIO marker colours as Resolve names them (Resolve has no orange, white, black).
COLORS = {"RED": "Red", "PINK": "Pink", "ORANGE": "Sand", "YELLOW": "Yellow", "GREEN": "Green", "CYAN": "Cyan",
          "BLUE": "Blue", "PURPLE": "Purple", "MAGENTA": "Fuchsia", "BLACK": "Cocoa", "WHITE": "Cream"}


def apply_result(session: ResolveSession, result: otio.schema.Timeline) -> list[str]:
    """Apply every clip's findings, CDL and takes to its item; returns what was done, one line each."""
    session.check_thread("apply results")
    if cuts.is_cut_list(result):
        return cuts.build(session, result)
    timeline = target_timeline(session, result)
    items = video_items(timeline)
    done: list[str] = []
    matched: list[tuple[otio.schema.Clip, ItemInfo]] = []
    for clip in _video_clips(result):
        if (clip.metadata.get(KEY) or {}).get("media_pool_item"):  # a whole file may be cut in many times
            done.append(f"{clip.name}: taken from the media pool, so there is no timeline clip to put the result "
                        "on; take the clips from a timeline to get markers, looks and takes back")
            continue
        info = match(clip, items)
        if info is None:
            done.append(f"{clip.name}: no matching clip on timeline '{timeline.GetName()}' (moved to another "
                        "timeline or deleted?); skipped")
            continue
        matched.append((clip, info))
        done += findings(clip, info)
        done += look(clip, info)
    done += takes(session, timeline, matched)
    return done or [f"Nothing new for '{timeline.GetName()}': the result was applied before, or carries no takes, "
                    "CDL or findings."]


def target_timeline(session: ResolveSession, result: otio.schema.Timeline) -> Timeline:
    """The timeline the shots were taken from (by its unique id), else the current one."""
    ids = {str((c.metadata.get(KEY) or {}).get("timeline_id") or "") for c in result.find_clips()} - {""}
    if len(ids) == 1:
        found = session.timeline_by_id(ids.pop())
        if found:
            return found
    return session.timeline()


def _video_clips(result: otio.schema.Timeline) -> list[otio.schema.Clip]:
    out = []
    for clip in result.find_clips():
        track = clip.parent()
        if not isinstance(track, otio.schema.Track) or track.kind == otio.schema.TrackKind.Video:
            out.append(clip)
    return out


def match(clip: otio.schema.Clip, items: list[ItemInfo]) -> ItemInfo | None:
    """The item a result clip belongs to: by unique id, else by track and record frame, else (results from
    another host) by the file it shows and an overlapping source range."""
    uid = item_id(clip)
    if uid:
        found = next((i for i in items if i.uid == uid), None)
        if found:
            return found
    meta = clip.metadata.get(KEY) or {}
    if meta.get("record_start") is not None:
        found = next((i for i in items if i.track == meta.get("track") and i.start == meta.get("record_start")), None)
        if found and (not meta.get("file_path") or bins.same_path(found.path, str(meta["file_path"]))):
            return found
    path = _plate_path(clip)
    if path:
        src = clip.trimmed_range()
        first, last = round(src.start_time.value), round(src.end_time_exclusive().value)
        for info in items:
            if info.path and bins.same_path(info.path, path) and info.left < last and first < info.left + info.duration:
                return info
    return None


def _plate_path(clip: otio.schema.Clip) -> str | None:
    ref = clip.media_references().get(DEFAULT)
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        return str(local_path(ref.target_url, None))
    return None


# -- findings ------------------------------------------------------------------------------------------


def plain(value):
    """OTIO metadata (AnyDictionary, AnyVector) as plain dicts and lists, for JSON."""
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return value
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    return [plain(v) for v in value]


def finding_key(finding: dict, job: str) -> str:
    """Stable for one finding of one job: what makes a repeated apply recognise its own marker."""
    essence = {k: finding.get(k) for k in ("kind", "expected", "found", "frames")}
    return sha256_json([job, essence])[:16]


def _our_marker(marker: dict) -> dict | None:
    try:
        data = json.loads(str(marker.get("customData") or ""))
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("shotbridge") else None


def findings(clip: otio.schema.Clip, info: ItemInfo) -> list[str]:
    """A marker per finding, in the item's media frames, once."""
    done = []
    item: TimelineItem = info.item
    existing = {float(f): m for f, m in (item.GetMarkers() or {}).items()}
    ours = {d.get("key") for d in (_our_marker(m) for m in existing.values()) if d}
    clip_facts = get_facts(clip)
    src_start = clip.trimmed_range().start_time
    for marker, found in list_findings(clip):
        finding = plain(found)
        job = str(finding.get("job_id") or (clip_facts.job_id if clip_facts else "") or "")
        key = finding_key(finding, job)
        if key in ours:
            continue  # applied before
        offset = round((marker.marked_range.start_time - src_start).rescaled_to(src_start.rate).value)
        duration = max(1, round(marker.marked_range.duration.rescaled_to(src_start.rate).value))
        if offset >= info.duration or offset + duration <= 0:
            done.append(f"{clip.name}: finding '{marker.name}' lies outside the clip in Resolve (trimmed since?); "
                        "not marked")
            continue
        start = max(0, offset)
        duration = min(duration - (start - offset), info.duration - start)
        frame = float(info.left + start)
        if frame in existing:
            done.append(f"{clip.name}: frame {int(frame)} already holds the marker '{existing[frame].get('name')}'; "
                        f"Resolve allows one per frame, so '{marker.name}' was not added")
            continue
        color = COLORS.get(str(marker.color).upper(), MARKER_COLOR)
        custom = json.dumps({"shotbridge": 1, "job_id": job, "key": key, "kind": finding.get("kind"),
                             "frames": finding.get("frames")}, sort_keys=True)
        name = marker.name or f"ShotBridge {finding.get('kind') or 'finding'}"
        if item.AddMarker(frame, color, name, _note(finding), float(duration), custom):
            existing[frame] = {"name": name, "customData": custom}
            done.append(f"{clip.name}: {color} marker '{name}' at frame {int(frame)} ({duration} frame(s))")
        else:
            done.append(f"{clip.name}: Resolve refused the marker '{name}' at frame {int(frame)}")
    return done


def _note(finding: dict) -> str:
    if finding.get("kind") == "drift":
        frames = finding.get("frames") or []
        where = f", frames {frames[0]}-{frames[-1]}" if frames else ""
        return f"{finding.get('found') or 'someone else'} instead of {finding.get('expected') or 'the character'}{where}"
    return str(finding.get("message") or finding.get("kind") or "")


def clear_findings(info: ItemInfo) -> int:
    """Remove ShotBridge's markers from an item (the editor's own stay); returns how many went."""
    item: TimelineItem = info.item
    removed = 0
    for marker in list((item.GetMarkers() or {}).values()):
        if _our_marker(marker) and item.DeleteMarkerByCustomData(str(marker.get("customData"))):
            removed += 1
    return removed


# -- CDL -----------------------------------------------------------------------------------------------


def look_version(cdl: CDL) -> str:
    values = cdl.rounded()
    digest = sha256_json(values.to_metadata())[:8]
    return f"ShotBridge look {digest}"


def _triple(values) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def look(clip: otio.schema.Clip, info: ItemInfo) -> list[str]:
    """The CDL in a colour version of its own (made once), so the colourist's grade is kept beside it."""
    cdl = get_cdl(clip)
    if cdl is None:
        return []
    item: TimelineItem = info.item
    name = look_version(cdl)
    if name in (item.GetVersionNameList(LOCAL) or []):
        return []  # applied before; the colourist may have switched versions since, which we leave alone
    if not item.AddVersion(name, LOCAL) or not item.LoadVersionByName(name, LOCAL):
        return [f"{clip.name}: Resolve could not add the colour version '{name}'; the CDL was not applied"]
    ok = item.SetCDL({"NodeIndex": "1", "Slope": _triple(cdl.slope), "Offset": _triple(cdl.offset),
                      "Power": _triple(cdl.power), "Saturation": f"{cdl.saturation:.6g}"})
    if not ok:
        return [f"{clip.name}: Resolve refused the CDL in version '{name}' (is node 1 there?)"]
    return [f"{clip.name}: CDL in colour version '{name}' (slope {_triple(cdl.slope)}, sat {cdl.saturation:g})"]


# -- takes ---------------------------------------------------------------------------------------------


def _take_media(ref, clip: otio.schema.Clip) -> tuple[str, int] | None:
    """(path as Resolve imports it, first frame of the take that the clip's first frame shows)."""
    start = clip.trimmed_range().start_time
    if isinstance(ref, otio.schema.ImageSequenceReference):
        folder = str(local_path(ref.target_url_base, None)) if ref.target_url_base else ""
        last = ref.end_frame() if ref.available_range is not None else None
        if last is None:
            return None
        seq = Sequence(folder, ref.name_prefix, ref.name_suffix, ref.start_frame, last, ref.frame_zero_padding)
        avail = ref.available_range.start_time
        name = f"{seq.prefix}[{seq.first:0{seq.padding}d}-{seq.last:0{seq.padding}d}]{seq.suffix}"
        return os.path.join(seq.folder, name), round((start - avail).rescaled_to(start.rate).value)
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        avail = ref.available_range.start_time if ref.available_range else otio.opentime.RationalTime(0, start.rate)
        return str(local_path(ref.target_url, None)), round((start - avail).rescaled_to(start.rate).value)
    return None


def _on_disk(path: str) -> bool:
    seq = parse_sequence(path)
    return os.path.isfile(path if seq is None else seq.printf() % seq.first)


def takes(session: ResolveSession, timeline: Timeline, matched: list[tuple[otio.schema.Clip, ItemInfo]]) -> list[str]:
    work = [(clip, info, [(k, r) for k, r in clip.media_references().items() if k != DEFAULT and not _is_matte(r)])
            for clip, info in matched]
    work = [w for w in work if w[2]]
    if not work:
        return []
    done: list[str] = []
    pool = session.media_pool()
    folder = bins.bin_path(pool, TAKES_BIN)
    current: Timeline | None = session.project().GetCurrentTimeline()
    switched = not current or current.GetUniqueId() != timeline.GetUniqueId()
    if switched:
        session.set_current(timeline)  # AppendToTimeline only reaches the current timeline
    try:
        for clip, info, refs in work:
            for n, (key, ref) in enumerate(refs, 1):
                done += _place_take(pool, folder, timeline, clip, info, key, ref, n)
            done += _take_versions(clip, info, [k for k, _ in refs])
    finally:
        if switched and current:
            session.set_current(current)
    return done


def _is_matte(ref) -> bool:
    return str((ref.metadata.get("shotbridge") or {}).get("kind") or "") == "matte"


def _place_take(pool: MediaPool, folder, timeline: Timeline, clip: otio.schema.Clip, info: ItemInfo, key: str,
                ref, n: int) -> list[str]:
    media = _take_media(ref, clip)
    if media is None:
        return [f"{clip.name}: take {key} names no file ShotBridge can import; skipped"]
    path, first = media
    if not _on_disk(path):
        return [f"{clip.name}: take {key}: {path} is not on this machine (download the job's outputs first); skipped"]
    mpi = bins.import_once(pool, folder, path)
    if not mpi:
        return [f"{clip.name}: Resolve could not import take {key} ({path}); skipped"]
    start, end = max(0, first), max(0, first) + info.duration
    try:
        frames = int(float(mpi.GetClipProperty("Frames") or 0))
    except ValueError:
        frames = 0
    if frames and end > frames:
        return [f"{clip.name}: take {key} has {frames} frame(s) but the clip needs its frames {start}-{end - 1} (a take "
                "lines up with the clip by its available range; without one, its frame 0 is the clip's time 0); "
                f"it is in the '{TAKES_BIN}' bin, not placed"]
    track = take_track(timeline, n)
    active = clip.active_media_reference_key == key
    placed: TimelineItem | None = _placed(timeline, track, info.start, path)
    verb = "already"
    if placed is None:
        new = pool.AppendToTimeline([{"mediaPoolItem": mpi, "startFrame": start, "endFrame": end, "mediaType": 1,
                                      "trackIndex": track, "recordFrame": info.start}])
        placed = (list(new or []) or [None])[0]
        verb = "placed"
        if placed is None:
            return [f"{clip.name}: Resolve could not place take {key} on video track {track}; it is in the "
                    f"'{TAKES_BIN}' bin"]
    if bool(placed.GetClipEnabled()) != active:
        placed.SetClipEnabled(active)
        verb = "accepted" if active else ("placed" if verb == "placed" else "set aside")
    elif verb == "already":
        return []  # placed before, in the state it should be: nothing changes
    state = "enabled (accepted)" if active else "disabled (the cut still plays the plate)"
    return [f"{clip.name}: take {key} {verb} on video track {track} at frame {info.start}, {state}"]


def take_track(timeline: Timeline, n: int) -> int:
    """The video track "ShotBridge takes <n>", added above the others if there is none."""
    name = f"{TAKES_TRACK} {n}"
    count = int(timeline.GetTrackCount("video") or 0)
    for index in range(1, count + 1):
        if timeline.GetTrackName("video", index) == name:
            return index
    # The second argument is the audio sub-type; Resolve ignores it for video tracks.
    if not timeline.AddTrack("video", "mono"):
        raise ResolveStateError(f"Resolve could not add a video track to '{timeline.GetName()}' for the takes.")
    index = int(timeline.GetTrackCount("video"))
    timeline.SetTrackName("video", index, name)
    return index


def _placed(timeline: Timeline, track: int, record: int, path: str) -> TimelineItem | None:
    for item in timeline.GetItemListInTrack("video", track) or []:
        mpi: MediaPoolItem | None = item.GetMediaPoolItem()
        if int(round(item.GetStart(False))) == record and mpi and bins.same_path(
                str(mpi.GetClipProperty("File Path") or ""), path):
            return item
    return None


def _take_versions(clip: otio.schema.Clip, info: ItemInfo, keys: list[str]) -> list[str]:
    """A local colour version per take on the source item; the version showing before stays loaded."""
    item: TimelineItem = info.item
    have = set(item.GetVersionNameList(LOCAL) or [])
    missing = [k for k in keys if f"ShotBridge {k}" not in have]
    if not missing:
        return []
    before = item.GetCurrentVersion() or {}
    added = [k for k in missing if item.AddVersion(f"ShotBridge {k}", LOCAL)]
    if before.get("versionName"):
        item.LoadVersionByName(str(before["versionName"]), int(before.get("versionType") or LOCAL))
    if not added:
        return [f"{clip.name}: Resolve could not add colour versions for the takes"]
    return [f"{clip.name}: colour version(s) {', '.join(f'ShotBridge {k}' for k in added)} to grade against"]
