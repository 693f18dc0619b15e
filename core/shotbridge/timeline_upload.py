"""Send a timeline to the backend together with the media its clips reference.

Each media file is uploaded by content hash (so a plate already on the backend costs one request) and its
hash is stamped into the media reference (`metadata["shotbridge"]["asset_sha256"]`), so the backend finds
the bytes whatever the file was called on the artist's machine.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from .client import Client
from .models import OTIO_MEDIA_TYPE


@dataclass
class UploadedTimeline:
    sha256: str
    media: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # referenced files not found here (clip: path)


def local_path(url: str, base_dir: Path | None) -> Path:
    """A media reference's target URL as a local path (file:// URLs, absolute or timeline-relative paths)."""
    parsed = urlparse(url)
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(url)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def upload_timeline(client: Client, project: str, source: Path | otio.schema.Timeline,
                    base_dir: Path | None = None) -> UploadedTimeline:
    if isinstance(source, otio.schema.Timeline):
        timeline = source.deepcopy()
    else:
        source = Path(source)
        from .exchange import untrusted
        from .exchange.shots import as_timeline

        timeline = as_timeline(untrusted.read(source).timeline)
        base_dir = base_dir or source.parent
    result = UploadedTimeline(sha256="")
    seen: dict[Path, str] = {}

    def send(path: Path) -> str:
        if path not in seen:
            seen[path] = client.upload(project, path).sha256
            result.media.append(seen[path])
        return seen[path]

    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ExternalReference):
                path = local_path(ref.target_url, base_dir)
                if path.is_file():
                    ref.metadata.setdefault("shotbridge", {})["asset_sha256"] = send(path)
                else:
                    result.missing.append(f"{clip.name}: {path}")
            elif isinstance(ref, otio.schema.ImageSequenceReference):
                folder = local_path(ref.target_url_base, base_dir)
                frames = [folder / f"{ref.name_prefix}{n:0{ref.frame_zero_padding}d}{ref.name_suffix}"
                          for n in range(ref.start_frame, ref.end_frame() + 1)]
                present = [f for f in frames if f.is_file()]
                for f in present:
                    send(f)
                if len(present) < len(frames):
                    result.missing.append(f"{clip.name}: {len(frames) - len(present)} frame(s) of "
                                          f"{folder / ref.name_prefix}...{ref.name_suffix}")
    with tempfile.TemporaryDirectory(prefix="shotbridge-") as tmp:
        name = (source.stem if isinstance(source, Path) else (timeline.name or "timeline")) + ".otio"
        path = Path(tmp) / name
        otio.adapters.write_to_file(timeline, str(path))
        result.sha256 = client.upload(project, path, media_type=OTIO_MEDIA_TYPE).sha256
    return result
