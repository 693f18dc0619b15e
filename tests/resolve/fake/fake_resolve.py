"""A small, honest stand-in for DaVinci Resolve's scripting objects: a project with timelines (video tracks,
items with media frames and record frames), a media pool of folders and clips, markers, colour versions
and CDLs, and Resolve's own OTIO and EDL export.

Every class is named after, and every public method is checked against, the fusionscript-stubs package
(tests/resolve/test_resolve_api_surface.py): names, parameter names and counts. Test helpers are module functions
listed in TEST_HELPERS or start with "_"; they are not Resolve API.

Behaviour that catches adapter mistakes, as Resolve has it:
- record frames are absolute (a 01:00:00:00 timeline at 24 fps starts at 86400); `AppendToTimeline`
  clip info frames are media frames from 0 with `endFrame` exclusive; an item placed over another on the
  same track is refused;
- one marker per frame per item, in the item's media frames; colours only from Resolve's list;
- `AddVersion` refuses a name that exists and does not load the new version; `SetCDL` wants every key with
  space-separated values; bins (media pool folders) and imported clips may be duplicated, as in Resolve;
- the OTIO constants and export exist from Resolve 18.5 on (`EXPORT_OTIO` raises AttributeError before);
- every API call from a thread other than the panel's raises (set_owner), so thread mistakes fail loudly.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from typing import Any

import opentimelineio as otio

TEST_HELPERS = {"TEST_HELPERS", "new_resolve", "set_owner", "register_media", "calls", "MEDIA", "CALLS",
                "MARKER_COLORS"}

MARKER_COLORS = ["Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky",
                 "Mint", "Lemon", "Sand", "Cocoa", "Cream"]
_OTIO_COLORS = {"Red": "RED", "Pink": "PINK", "Purple": "PURPLE", "Blue": "BLUE", "Cyan": "CYAN", "Green": "GREEN",
                "Yellow": "YELLOW", "Fuchsia": "MAGENTA"}
MEDIA: dict[str, dict[str, Any]] = {}  # path -> {"frames", "fps"}: what ImportMedia finds in a file
CALLS: list[str] = []  # "Class.Method" for every API call, in order
_ids = itertools.count(1)
_owner = {"thread": threading.main_thread()}


def set_owner(thread: threading.Thread) -> None:
    _owner["thread"] = thread


def calls(prefix: str = "") -> list[str]:
    return [c for c in CALLS if c.startswith(prefix)]


def register_media(path: str, frames: int, fps: float = 24.0) -> str:
    """Test helper: what Resolve would read from a media file (it must exist on disk for ImportMedia)."""
    MEDIA[os.path.normpath(path)] = {"frames": frames, "fps": fps}
    return path


def _uid(kind: str) -> str:
    return f"{kind}-{next(_ids):04d}"


class _API:
    """Resolve's objects answer only on the panel's thread here, and every call is recorded."""

    def __getattribute__(self, name: str):
        attr = object.__getattribute__(self, name)
        if name[:1].isupper() and callable(attr):
            if threading.current_thread() is not _owner["thread"]:
                raise RuntimeError(f"fake Resolve: {type(self).__name__}.{name} called on thread "
                                   f"{threading.current_thread().name!r}; ShotBridge calls Resolve only from the "
                                   "panel's thread")
            CALLS.append(f"{type(self).__name__}.{name}")
        return attr


# -- application --------------------------------------------------------------------------------------


class Resolve(_API):
    EXPORT_AAF = 0
    EXPORT_DRT = 1
    EXPORT_EDL = 2
    EXPORT_FCP_7_XML = 3
    EXPORT_NONE = 100
    EXPORT_CDL = 101

    def __init__(self, version: tuple = (19, 1, 4, 11, ""), project: str = "Demo Project", rate: str = "24"):
        self._version = list(version)
        self._pm = ProjectManager(Project(self, project, rate))

    @property
    def EXPORT_OTIO(self) -> int:  # noqa: N802 (Resolve's name)
        if tuple(self._version[:2]) < (18, 5):
            raise AttributeError("EXPORT_OTIO")  # Resolve before 18.5 has no OTIO export
        return 14

    def GetProjectManager(self) -> ProjectManager:
        return self._pm

    def GetVersion(self) -> list:
        return list(self._version)

    def GetVersionString(self) -> str:
        major, minor, patch, build, suffix = (self._version + [0, 0, 0, ""])[:5]
        return f"{major}.{minor}.{patch}{suffix}.{build}"

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio"


class Fusion(_API):
    """The global `app` a Workspace > Scripts script gets (GetResolve is documented in ../shared/HOSTS.md)."""

    def __init__(self, resolve: Resolve | None):
        self._resolve = resolve

    def GetResolve(self) -> Resolve | None:
        return self._resolve


class ProjectManager(_API):
    def __init__(self, project: Project | None):
        self._project = project

    def GetCurrentProject(self) -> Project | None:
        return self._project


class Project(_API):
    def __init__(self, resolve: Resolve, name: str, rate: str):
        self._resolve, self._name, self._rate = resolve, name, rate
        self._timelines: list[Timeline] = []
        self._current: Timeline | None = None
        self._pool = MediaPool(self)

    def GetName(self) -> str:
        return self._name

    def GetMediaPool(self) -> MediaPool:
        return self._pool

    def GetGallery(self) -> Gallery:
        if not hasattr(self, "_gallery"):
            self._gallery = Gallery()
        return self._gallery

    def GetTimelineCount(self) -> int:
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> Timeline | None:
        return self._timelines[idx - 1] if 1 <= idx <= len(self._timelines) else None

    def GetCurrentTimeline(self) -> Timeline | None:
        return self._current

    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        if timeline not in self._timelines:
            return False
        self._current = timeline
        return True

    def _new_timeline(self, name: str, start_frame: int = 86400, rate: str | None = None) -> Timeline:
        timeline = Timeline(self, name, rate or self._rate, start_frame)
        self._timelines.append(timeline)
        if self._current is None:
            self._current = timeline
        return timeline


# -- media pool ---------------------------------------------------------------------------------------


class Folder(_API):
    def __init__(self, name: str):
        self._name, self._uid = name, _uid("folder")
        self._clips: list[MediaPoolItem] = []
        self._subfolders: list[Folder] = []

    def GetName(self) -> str:
        return self._name

    def GetClipList(self) -> list:
        return list(self._clips)

    def GetSubFolderList(self) -> list:
        return list(self._subfolders)

    def GetUniqueId(self) -> str:
        return self._uid


class MediaPoolItem(_API):
    def __init__(self, path: str, frames: int, fps: float, name: str | None = None):
        self._uid = _uid("clip")
        self._frames = frames
        self._props = {"File Path": path, "File Name": os.path.basename(path), "Clip Name": name or
                       os.path.basename(path), "FPS": f"{fps:.3f}", "Frames": str(frames), "Start TC": "00:00:00:00",
                       "Type": "Video"}

    def GetName(self) -> str:
        return self._props["Clip Name"]

    def GetClipProperty(self, propertyName: str | None = None):  # noqa: N803 (Resolve's names)
        if not propertyName:
            return dict(self._props)
        return self._props.get(propertyName, "")  # Resolve answers an unknown key with a trivial value

    def GetUniqueId(self) -> str:
        return self._uid

    def GetMediaId(self) -> str:
        return self._uid


class MediaPool(_API):
    def __init__(self, project: Project):
        self._project = project
        self._root = Folder("Master")
        self._current = self._root
        self._selected: list[MediaPoolItem] = []

    def GetRootFolder(self) -> Folder:
        return self._root

    def GetCurrentFolder(self) -> Folder:
        return self._current

    def SetCurrentFolder(self, folder: Folder) -> bool:
        self._current = folder
        return True

    def AddSubFolder(self, folder: Folder, name: str) -> Folder:
        sub = Folder(name)  # Resolve lets two bins share a name: finding the old one is the caller's job
        folder._subfolders.append(sub)
        return sub

    def ImportMedia(self, items: list) -> list:
        made = []
        for entry in items:
            if isinstance(entry, dict):
                if set(entry) != {"FilePath", "StartIndex", "EndIndex"}:
                    raise TypeError(f"ImportMedia clip info keys {sorted(entry)}")
                first, last = int(entry["StartIndex"]), int(entry["EndIndex"])
                pattern = entry["FilePath"]
                if not os.path.isfile(pattern % first):
                    continue
                folder, name = os.path.split(pattern)
                head, _, tail = name.partition("%")
                width = int(tail[1:tail.index("d")] or 1) if tail.startswith("0") else 1
                path = os.path.join(folder, f"{head}[{first:0{width}d}-{last:0{width}d}]{tail[tail.index('d') + 1:]}")
                mpi = MediaPoolItem(path, last - first + 1, 24.0)
            else:
                if not os.path.isfile(entry):
                    continue  # Resolve skips what it cannot find
                info = MEDIA.get(os.path.normpath(entry), {"frames": 1000, "fps": 24.0})
                mpi = MediaPoolItem(entry, info["frames"], info["fps"])
            self._current._clips.append(mpi)
            made.append(mpi)
        return made

    def CreateEmptyTimeline(self, name: str) -> Timeline | None:
        if any(t._name == name for t in self._project._timelines):
            return None  # Resolve: timeline names are unique
        return self._project._new_timeline(name)

    def AppendToTimeline(self, clip1, *args) -> list:
        entries = list(clip1) if isinstance(clip1, list) else [clip1, *args]
        timeline = self._project._current
        if timeline is None:
            return []
        made = []
        for entry in entries:
            info = entry if isinstance(entry, dict) else {"mediaPoolItem": entry}
            unknown = set(info) - {"mediaPoolItem", "startFrame", "endFrame", "mediaType", "trackIndex", "recordFrame"}
            if unknown:
                raise TypeError(f"AppendToTimeline clip info keys {sorted(unknown)}")
            mpi: MediaPoolItem = info["mediaPoolItem"]
            start, end = int(info.get("startFrame", 0)), int(info.get("endFrame", mpi._frames))
            track = int(info.get("trackIndex", 1))
            if not (0 <= start < end <= mpi._frames) or not 1 <= track <= len(timeline._tracks):
                continue
            record = int(info.get("recordFrame", timeline._track_end(track)))
            item = TimelineItem(timeline, track, mpi, record, end - start, start)
            if any(o._start < item._start + item._duration and item._start < o._start + o._duration
                   for o in timeline._tracks[track - 1]["items"]):
                continue  # would overwrite an item: refused here, so adapters must find a free place
            timeline._tracks[track - 1]["items"].append(item)
            made.append(item)
        return made

    def GetSelectedClips(self) -> list:
        return list(self._selected)


# -- timelines ----------------------------------------------------------------------------------------


class Timeline(_API):
    def __init__(self, project: Project, name: str, rate: str, start_frame: int):
        self._project, self._name, self._rate, self._start = project, name, rate, start_frame
        self._uid = _uid("timeline")
        self._tracks: list[dict] = [{"name": "Video 1", "items": []}]
        self._markers: dict[float, dict] = {}
        self._playhead = start_frame

    def _fps(self) -> float:
        return {"23.976": 24000 / 1001, "29.97": 30000 / 1001, "59.94": 60000 / 1001}.get(
            self._rate.replace(" DF", ""), float(self._rate.replace(" DF", "")))

    def _track_end(self, track: int) -> int:
        return max([i._start + i._duration for i in self._tracks[track - 1]["items"]] or [self._start])

    def _tc(self, frame: int) -> str:
        return otio.opentime.to_timecode(otio.opentime.RationalTime(frame, self._fps()), self._fps())

    def _add(self, mpi: MediaPoolItem, record: int, duration: int, left: int = 0, track: int = 1,
             name: str | None = None) -> TimelineItem:
        """Test helper: an item the editor cut in."""
        while len(self._tracks) < track:
            self._tracks.append({"name": f"Video {len(self._tracks) + 1}", "items": []})
        item = TimelineItem(self, track, mpi, record, duration, left, name)
        self._tracks[track - 1]["items"].append(item)
        return item

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetStartFrame(self) -> int:
        return self._start

    def GetEndFrame(self) -> int:
        return max([self._track_end(t) for t in range(1, len(self._tracks) + 1)] or [self._start])

    def GetStartTimecode(self) -> str:
        return self._tc(self._start)

    def GetSetting(self, settingName: str) -> str:  # noqa: N803
        return {"timelineFrameRate": self._rate}.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:  # noqa: N803
        return len(self._tracks) if trackType == "video" else 0

    def GetTrackName(self, trackType: str, trackIndex: int) -> str:  # noqa: N803
        return self._tracks[trackIndex - 1]["name"] if trackType == "video" and 1 <= trackIndex <= len(self._tracks) else ""

    def SetTrackName(self, trackType: str, trackIndex: int, name: str) -> bool:  # noqa: N803
        if trackType != "video" or not 1 <= trackIndex <= len(self._tracks):
            return False
        self._tracks[trackIndex - 1]["name"] = name
        return True

    def AddTrack(self, trackType: str, subTrackType=None) -> bool:  # noqa: N803
        if trackType != "video":
            return False
        self._tracks.append({"name": f"Video {len(self._tracks) + 1}", "items": []})
        return True

    def GetItemListInTrack(self, trackType: str, index: int) -> list:
        if trackType != "video" or not 1 <= index <= len(self._tracks):
            return []
        return sorted(self._tracks[index - 1]["items"], key=lambda i: i._start)

    def GetMarkers(self) -> dict:
        return {f: dict(m) for f, m in self._markers.items()}

    def AddMarker(self, frameId: float, color: str, name: str, note: str, duration: float,  # noqa: N803
                  customData: str | None = None) -> bool:
        if color not in MARKER_COLORS or float(frameId) in self._markers:
            return False
        self._markers[float(frameId)] = {"color": color, "duration": float(duration), "note": note, "name": name,
                                         "customData": customData or ""}
        return True

    def GetCurrentTimecode(self) -> str:
        return self._tc(self._playhead)

    def SetCurrentTimecode(self, timecode: str) -> bool:
        try:
            frame = round(otio.opentime.from_timecode(timecode, self._fps()).value)
        except ValueError:
            return False
        if not self._start <= frame <= self.GetEndFrame():
            return False  # Resolve refuses a timecode outside the timeline
        self._playhead = frame
        return True

    def GrabStill(self):
        """A still of the picture under the playhead (None over a gap), added to the current album."""
        item = self.GetCurrentVideoItem()
        if item is None:
            return None
        still = GalleryStill(item, item._left + self._playhead - item._start)
        self._project.GetGallery().GetCurrentStillAlbum()._stills.append(still)
        return still

    def GetCurrentVideoItem(self):
        for track in reversed(self._tracks):  # the picture shows the topmost item
            for item in track["items"]:
                if item._start <= self._playhead < item._start + item._duration:
                    return item
        return None

    def Export(self, fileName: str, exportType: int, exportSubtype: int) -> bool:  # noqa: N803
        version = tuple(self._project._resolve._version[:2])
        if exportType == 14 and version >= (18, 5):
            with open(fileName, "w", encoding="utf-8") as f:
                json.dump(self._resolve_otio(), f, indent=4)
            return True
        if exportType == Resolve.EXPORT_EDL and exportSubtype == Resolve.EXPORT_NONE:
            with open(fileName, "w", encoding="utf-8", newline="\n") as f:
                f.write(self._resolve_edl())
            return True
        return False

    # Resolve's own export, written the way Resolve writes it (see ../shared/corpus/otio/tellers_resolve_*,
    # ayoncore_*_resolve): 0-based media frames, folders without a final separator, Resolve_OTIO metadata.
    def _resolve_otio(self) -> dict:
        fps = self._fps()

        def rt(value: float) -> dict:
            return {"OTIO_SCHEMA": "RationalTime.1", "rate": fps, "value": float(value)}

        def tr(start: float, duration: float) -> dict:
            return {"OTIO_SCHEMA": "TimeRange.1", "duration": rt(duration), "start_time": rt(start)}

        tracks = []
        for track in self._tracks:
            children, cursor = [], self._start
            for item in sorted(track["items"], key=lambda i: i._start):
                if item._start > cursor:
                    children.append({"OTIO_SCHEMA": "Gap.1", "metadata": {}, "name": "",
                                     "source_range": tr(0, item._start - cursor), "effects": [], "markers": [],
                                     "enabled": True})
                children.append(item._resolve_otio(tr))
                cursor = item._start + item._duration
            tracks.append({"OTIO_SCHEMA": "Track.1", "metadata": {"Resolve_OTIO": {"Locked": False}},
                           "name": track["name"], "source_range": None, "effects": [], "markers": [],
                           "enabled": True, "children": children, "kind": "Video"})
        tracks.append({"OTIO_SCHEMA": "Track.1", "metadata": {"Resolve_OTIO": {"Audio Type": "Stereo"}},
                       "name": "Audio 1", "source_range": None, "effects": [], "markers": [], "enabled": True,
                       "children": [], "kind": "Audio"})
        return {"OTIO_SCHEMA": "Timeline.1", "metadata": {"Resolve_OTIO": {"Resolve OTIO Meta Version": "1.0"}},
                "name": self._name, "global_start_time": rt(self._start),
                "tracks": {"OTIO_SCHEMA": "Stack.1", "metadata": {}, "name": "", "source_range": None,
                           "effects": [], "markers": [], "enabled": True, "children": tracks}}

    def _resolve_edl(self) -> str:
        lines = [f"TITLE: {self._name}", "FCM: NON-DROP FRAME", ""]
        for n, item in enumerate(sorted(self._tracks[0]["items"], key=lambda i: i._start), 1):
            src = (self._tc(item._left), self._tc(item._left + item._duration))
            rec = (self._tc(item._start), self._tc(item._start + item._duration))
            lines.append(f"{n:03d}  AX       V     C        {src[0]} {src[1]} {rec[0]} {rec[1]}  ")
            lines.append(f"* FROM CLIP NAME: {item._name}")
            lines.append("")
        return "\n".join(lines) + "\n"


class TimelineItem(_API):
    def __init__(self, timeline: Timeline, track: int, mpi: MediaPoolItem | None, start: int, duration: int,
                 left: int, name: str | None = None):
        self._timeline, self._track, self._mpi = timeline, track, mpi
        self._start, self._duration, self._left = start, duration, left
        self._uid = _uid("item")
        self._name = name or (mpi.GetName() if mpi else "Solid Color")
        self._markers: dict[float, dict] = {}
        self._versions: dict[str, dict] = {"Version 1": {"cdl": None}}
        self._version = "Version 1"
        self._enabled = True

    def _resolve_otio(self, tr) -> dict:
        path = self._mpi._props["File Path"] if self._mpi else ""
        total = (self._mpi._frames if self._mpi else self._duration)
        folder, name = os.path.split(path)
        if "[" in name:
            head, _, rest = name.partition("[")
            first, _, rest = rest.partition("-")
            _, _, tail = rest.partition("]")
            ref = {"OTIO_SCHEMA": "ImageSequenceReference.1", "metadata": {}, "name": name,
                   "available_range": tr(0, total), "available_image_bounds": None, "target_url_base": folder,
                   "name_prefix": head, "name_suffix": tail, "start_frame": int(first), "frame_step": 1,
                   "rate": self._timeline._fps(), "frame_zero_padding": len(first),
                   "missing_frame_policy": "error"}
        else:
            ref = {"OTIO_SCHEMA": "ExternalReference.1", "metadata": {}, "name": name,
                   "available_range": tr(0, total), "available_image_bounds": None, "target_url": path}
        markers = [{"OTIO_SCHEMA": "Marker.2", "metadata": {"Resolve_OTIO": {"Keywords": [], "Note": m["note"]}},
                    "name": m["name"], "color": _OTIO_COLORS.get(m["color"], m["color"].upper()),
                    "marked_range": tr(f, m["duration"]), "comment": ""} for f, m in sorted(self._markers.items())]
        return {"OTIO_SCHEMA": "Clip.2", "metadata": {"Resolve_OTIO": {"Link Group ID": 1}}, "name": self._name,
                "source_range": tr(self._left, self._duration), "effects": [], "markers": markers,
                "enabled": self._enabled, "media_references": {"DEFAULT_MEDIA": ref},
                "active_media_reference_key": "DEFAULT_MEDIA"}

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetStart(self, subframe_precision: bool = False) -> int:
        return self._start

    def GetEnd(self, subframe_precision: bool = False) -> int:
        return self._start + self._duration

    def GetDuration(self, subframe_precision: bool = False) -> int:
        return self._duration

    def GetLeftOffset(self, subframe_precision: bool = False) -> int:
        return self._left

    def GetRightOffset(self, subframe_precision: bool = False) -> int:
        total = self._mpi._frames if self._mpi else self._duration
        return total - self._left - self._duration

    def GetSourceStartFrame(self) -> int:
        return self._left

    def GetSourceEndFrame(self) -> int:
        return self._left + self._duration

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return self._mpi

    def GetTrackTypeAndIndex(self) -> tuple:
        return ("video", self._track)

    def GetMarkers(self) -> dict:
        return {f: dict(m) for f, m in self._markers.items()}

    def AddMarker(self, frameId: float, color: str, name: str, note: str, duration: float,  # noqa: N803
                  customData: str | None = None) -> bool:
        frame = float(frameId)
        if color not in MARKER_COLORS or frame in self._markers or duration < 1:
            return False
        if not self._left <= frame < self._left + self._duration:
            return False  # markers sit on the media the item shows
        self._markers[frame] = {"color": color, "duration": float(duration), "note": note, "name": name,
                                "customData": customData or ""}
        return True

    def DeleteMarkerByCustomData(self, customData: str) -> bool:  # noqa: N803
        for frame, marker in sorted(self._markers.items()):
            if marker["customData"] == customData:
                del self._markers[frame]
                return True
        return False

    def SetCDL(self, cdlMap: dict) -> bool:  # noqa: N803
        if set(cdlMap) != {"NodeIndex", "Slope", "Offset", "Power", "Saturation"}:
            return False
        if int(cdlMap["NodeIndex"]) != 1:  # one node in a fresh grade
            return False
        values = {k: [float(x) for x in str(cdlMap[k]).split()] for k in ("Slope", "Offset", "Power", "Saturation")}
        if any(len(values[k]) != 3 for k in ("Slope", "Offset", "Power")) or len(values["Saturation"]) != 1:
            return False
        self._versions[self._version]["cdl"] = values
        return True

    def AddVersion(self, versionName: str, versionType: int) -> bool:  # noqa: N803
        if versionName in self._versions or versionType not in (0, 1):
            return False
        self._versions[versionName] = {"cdl": None}
        return True

    def LoadVersionByName(self, versionName: str, versionType: int) -> bool:  # noqa: N803
        if versionName not in self._versions:
            return False
        self._version = versionName
        return True

    def GetCurrentVersion(self) -> dict:
        return {"versionName": self._version, "versionType": 0}

    def GetVersionNameList(self, versionType: int) -> list:  # noqa: N803
        return list(self._versions) if versionType == 0 else []

    def SetClipEnabled(self, Bool: bool) -> bool:  # noqa: N803
        self._enabled = bool(Bool)
        return True

    def GetClipEnabled(self) -> bool:
        return self._enabled


class GalleryStill(_API):
    def __init__(self, item: TimelineItem, media_frame: int):
        self._item, self._frame = item, media_frame
        self._label = f"1.{next(_ids)}.1"


class GalleryStillAlbum(_API):
    def __init__(self):
        self._stills: list[GalleryStill] = []

    def GetStills(self) -> list:
        return list(self._stills)

    def ExportStills(self, galleryStills: list, folderPath: str, filePrefix: str, format: str) -> bool:  # noqa: N803
        """Each still as <prefix>_<label>.<format>: the media frame it shows, read from the real file."""
        import cv2

        if format not in ("dpx", "cin", "tif", "jpg", "png", "ppm", "bmp", "xpm") or not os.path.isdir(folderPath):
            return False
        for still in galleryStills:
            if still not in self._stills:
                return False
            path = still._item._mpi._props["File Path"]
            pixels = cv2.imread(path)
            if pixels is None:
                capture = cv2.VideoCapture(path)
                capture.set(cv2.CAP_PROP_POS_FRAMES, still._frame)
                ok, pixels = capture.read()
                capture.release()
                if not ok:
                    return False
            cv2.imwrite(os.path.join(folderPath, f"{filePrefix}_{still._label}.{format}"), pixels)
        return True

    def DeleteStills(self, galleryStills: list) -> bool:
        self._stills = [s for s in self._stills if s not in galleryStills]
        return True


class Gallery(_API):
    def __init__(self):
        self._album = GalleryStillAlbum()

    def GetCurrentStillAlbum(self) -> GalleryStillAlbum:
        return self._album


def new_resolve(version: tuple = (19, 1, 4, 11, ""), rate: str = "24", timeline: str | None = "Edit v3",
                start_frame: int = 86400) -> Resolve:
    """Test helper: Resolve with one project and (unless timeline=None) an empty current timeline."""
    CALLS.clear()
    resolve = Resolve(version, rate=rate)
    if timeline:
        resolve._pm._project._new_timeline(timeline, start_frame)
    return resolve
