"""Scene cut detection in Resolve: a flattened movie in the media pool becomes a timeline cut at its shots.

The backend's `detect_shots` returns an OTIO timeline with one clip per shot, each naming the movie it was
cut from (its file name) and its source frames. This builds the Resolve timeline "<name> (ShotBridge cuts)"
with `MediaPool.CreateEmptyTimeline` and one `AppendToTimeline` call: every shot is an item on video track
1 showing its frames of the movie's media pool clip, butted one after the other. A timeline of that name
already there means the result was applied before, and nothing changes.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from shotbridge.exchange.facts import get_facts

from . import bins, timebase
from .session import ResolveSession, ResolveStateError
from .timeline_otio import KEY

if TYPE_CHECKING:
    from fusionscript import MediaPoolItem, Timeline

SUFFIX = " (ShotBridge cuts)"


def is_cut_list(result: otio.schema.Timeline) -> bool:
    """A detect_shots result: every clip made by detect_shots, none taken from a Resolve timeline."""
    clips = list(result.find_clips())
    return bool(clips) and all(not (c.metadata.get(KEY) or {}).get("item_id") and
                               (get_facts(c) is not None and get_facts(c).operation == "detect_shots")
                               for c in clips)


def _file_name(url: str) -> str:
    path = unquote(urlparse(url).path) if "://" in url else url
    return (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).name


def find_movie(session: ResolveSession, url: str) -> MediaPoolItem:
    """The media pool clip of the movie: the same file if the result names a path, else the same file name."""
    clips = bins.walk(session.media_pool().GetRootFolder())
    if os.path.isabs(url):
        same = bins.find_by_path(clips, url)
        if same:
            return same
    name = _file_name(url)
    for mpi in clips:
        if _file_name(str(mpi.GetClipProperty("File Path") or "")) == name:
            return mpi
    raise ResolveStateError(f"The movie '{name}' that the cuts were found in is not in this project's media "
                            "pool: import it (File > Import > Media) and apply the result again.")


def build(session: ResolveSession, result: otio.schema.Timeline) -> list[str]:
    session.check_thread("build a cut timeline")
    name = (result.name or "Shots") + SUFFIX
    existing = [t for t in session.timelines() if t and t.GetName() == name]
    if existing:
        return [f"Timeline '{name}' is there already (this result was applied before); nothing changed."]
    clips = list(result.find_clips())
    urls = {getattr(c.media_reference, "target_url", "") for c in clips} - {""}
    if len(urls) != 1:
        raise ResolveStateError(f"The cut list names {len(urls)} movies ({', '.join(sorted(urls)) or 'none'}); "
                                "a cut timeline is built from one movie.")
    url = urls.pop()
    movie = find_movie(session, url)
    pool = session.media_pool()
    timeline: Timeline | None = pool.CreateEmptyTimeline(name)
    if not timeline:
        raise ResolveStateError(f"Resolve could not create the timeline '{name}'.")
    session.set_current(timeline)  # AppendToTimeline fills the current timeline
    rate = timebase.parse_rate(timeline.GetSetting("timelineFrameRate"))
    record = int(timeline.GetStartFrame())
    spans = []  # (first media frame, frames, record frame) per shot
    for clip in clips:
        src = clip.trimmed_range()
        first, frames = round(src.start_time.value), round(src.duration.value)
        spans.append((first, frames, record))
        record += round(frames * rate / src.duration.rate)  # record frames, should the project rate differ
    placed = pool.AppendToTimeline([{"mediaPoolItem": movie, "startFrame": first, "endFrame": first + frames,
                                     "mediaType": 1, "trackIndex": 1, "recordFrame": rec}
                                    for first, frames, rec in spans])
    count = len(list(placed or []))
    done = [f"Timeline '{name}': {count} of {len(clips)} shot(s) of {movie.GetName()} on video track 1"]
    if count != len(clips):
        done.append(f"Resolve placed {count} of {len(clips)} shots; check the timeline against the result.")
    movie_rate = clips[0].trimmed_range().duration.rate
    if abs(movie_rate - rate) > 0.001:
        done.append(f"The project runs at {rate:.3f} fps and the movie at {movie_rate:.3f} fps; Resolve conforms "
                    "the shots, so check the cut points.")
    return done
