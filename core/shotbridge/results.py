"""A job's result timeline made usable on this machine: generated media pointed at the downloaded files.

The backend writes takes and new clips with relative references (`./sh010_inpaint_v001.1002.png`), next to
the timeline, as the job's outputs. Once the outputs are downloaded, `localize` points each such reference at
the local file (an absolute file URL), so a host can read the take wherever the files landed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import opentimelineio as otio


def _relative(url: str) -> bool:
    return bool(url) and "://" not in url and not PurePosixPath(unquote(url)).is_absolute() and ":\\" not in url


def localize(timeline: otio.schema.Timeline, files: dict[str, Path]) -> int:
    """Point relative media references at `files` ({output name: local path}); returns how many changed.

    An image sequence moves only when all its frames are there (in one folder), so a take never points at a
    half-downloaded sequence."""
    changed = 0
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ExternalReference) and _relative(ref.target_url):
                local = files.get(PurePosixPath(unquote(urlparse(ref.target_url).path)).name)
                if local is not None:
                    ref.target_url = Path(local).resolve().as_uri()
                    changed += 1
            elif isinstance(ref, otio.schema.ImageSequenceReference) and _relative(ref.target_url_base or "./"):
                names = [f"{ref.name_prefix}{n:0{ref.frame_zero_padding}d}{ref.name_suffix}"
                         for n in range(ref.start_frame, ref.end_frame() + 1)]
                found = [files.get(n) for n in names]
                folders = {Path(p).resolve().parent for p in found if p is not None}
                if names and all(found) and len(folders) == 1:
                    ref.target_url_base = folders.pop().as_uri() + "/"
                    changed += 1
    return changed


def describe(ref: otio.core.MediaReference) -> str:
    """A one-line location for a take: its file, or its sequence pattern."""
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return (f"{ref.target_url_base}{ref.name_prefix}{'#' * max(1, ref.frame_zero_padding)}{ref.name_suffix}")
    return getattr(ref, "target_url", "") or ""
