"""Nuke comp scripts (.nk) written without Nuke: a shot's plate, its takes, its CDL and a Write.

The text follows what Nuke itself saves (see ../shared/corpus/nk): one `Class {` block per node, knobs one
per line, nodes connected through Nuke's stack (a node with inputs takes them from the top of the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from .exchange.cdl import get_cdl
from .exchange.errors import ExchangeError
from .exchange.shots import as_timeline, sequence_frame

TAKE_SPACING = 150  # DAG units between the plate column and each take's column


@dataclass
class _Media:
    path: str
    first: int
    last: int


def quote(text: str) -> str:
    """A knob value as a TCL string: quoted, with the characters TCL would interpret escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("[", "\\[").replace("]", "\\]")
    escaped = escaped.replace("$", "\\$").replace("{", "\\{").replace("}", "\\}").replace("\n", "\\n")
    return '"' + escaped + '"'


def _node(cls: str, knobs: list[tuple[str, str]]) -> str:
    return cls + " {\n" + "".join(f" {k} {v}\n" for k, v in knobs) + "}\n"


def _media(ref, clip: otio.schema.Clip) -> _Media | None:
    """File path and Nuke frame range of the part of the media the clip uses."""
    rng = clip.trimmed_range()
    duration = round(rng.duration.value)
    if isinstance(ref, otio.schema.ImageSequenceReference):
        first = sequence_frame(ref, rng.start_time)
        pattern = f"{ref.name_prefix}{'#' * max(1, ref.frame_zero_padding)}{ref.name_suffix}"
        # The pattern joins after URL parsing: '#' would start a URL fragment.
        return _Media(_local(ref.target_url_base).rstrip("/") + "/" + pattern, first, first + duration - 1)
    if isinstance(ref, otio.schema.ExternalReference):
        avail = ref.available_range.start_time if ref.available_range else otio.opentime.RationalTime(0, rng.start_time.rate)
        first = round((rng.start_time - avail).rescaled_to(rng.start_time.rate).value) + 1  # Nuke counts movie frames from 1
        return _Media(_local(ref.target_url), first, first + duration - 1)
    return None


def _local(url: str) -> str:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


def _read(name: str, media: _Media, x: int, y: int, label: str = "", colorspace: str | None = None) -> str:
    knobs = [("inputs", "0"), ("file", quote(media.path)), ("first", str(media.first)), ("last", str(media.last)),
             ("origfirst", str(media.first)), ("origlast", str(media.last)), ("origset", "true")]
    if colorspace:
        knobs.append(("colorspace", quote(colorspace)))
    if label:
        knobs.append(("label", quote(label)))
    return _node("Read", [*knobs, ("name", name), ("xpos", str(x)), ("ypos", str(y))])


def safe_name(name: str) -> str:
    """A Nuke node name: letters, digits and underscores, starting with a letter."""
    out = "".join(c if c.isalnum() else "_" for c in name)
    return out if out[:1].isalpha() else f"n{out}"


def comp_script(clip: otio.schema.Clip, write_path: str, fps: float, size: tuple[int, int] | None = None) -> str:
    """The .nk text for one shot."""
    refs = clip.media_references()
    plate = _media(refs[otio.schema.Clip.DEFAULT_MEDIA_KEY], clip) if otio.schema.Clip.DEFAULT_MEDIA_KEY in refs else None
    if plate is None:
        raise ExchangeError(f"Clip '{clip.name}' has no plate (its original media reference is missing or empty).")
    w, h = size or (1920, 1080)
    shot = safe_name(clip.name)
    parts = [
        "#! nuke -nx\n",
        "version 13.2 v1\n",
        _node("Root", [("inputs", "0"), ("name", quote(f"{clip.name}.nk")), ("first_frame", str(plate.first)),
                       ("last_frame", str(plate.last)), ("fps", f"{fps:g}"),
                       ("format", quote(f"{w} {h} 0 0 {w} {h} 1 shotbridge_{w}x{h}"))]),
        _read(f"Plate_{shot}", plate, 0, 0, label=clip.name),
    ]
    cdl = get_cdl(clip)
    y = 0
    if cdl is not None:
        y += 80
        parts.append(_node("OCIOCDLTransform", [
            ("slope", "{" + " ".join(f"{v:g}" for v in cdl.slope) + "}"),
            ("offset", "{" + " ".join(f"{v:g}" for v in cdl.offset) + "}"),
            ("power", "{" + " ".join(f"{v:g}" for v in cdl.power) + "}"),
            ("saturation", f"{cdl.saturation:g}"),
            ("name", f"CDL_{shot}"), ("xpos", "0"), ("ypos", str(y))]))
    y += 80
    parts.append(_node("Write", [("file", quote(write_path)), ("file_type", "exr"), ("name", f"Write_{shot}"),
                                 ("xpos", "0"), ("ypos", str(y))]))
    column = 0
    for key, ref in refs.items():
        if key == otio.schema.Clip.DEFAULT_MEDIA_KEY:
            continue
        media = _media(ref, clip)
        if media is None:
            continue
        column += 1
        x = column * TAKE_SPACING
        facts = ref.metadata.get("shotbridge") or {}
        operation = facts.get("operation") or "take"
        parts.append(_node("BackdropNode", [
            ("inputs", "0"), ("name", f"Backdrop_{safe_name(key)}"), ("label", quote(f"{operation}\n{key}")),
            ("tile_color", "0x3b4a5aff"), ("xpos", str(x - 20)), ("ypos", "-60"),
            ("bdwidth", str(TAKE_SPACING - 20)), ("bdheight", "160")]))
        parts.append(_read(f"Take_{safe_name(key)}", media, x, 0, label=f"{operation} {key}"))
    return "".join(parts)


def write_comp(source, out: str | Path, clip_name: str | None = None, write_path: str | None = None) -> Path:
    """Write `out` (.nk) for the named clip of a timeline (or its only clip); `source` is a Timeline or a path."""
    from .exchange import io

    timeline = as_timeline(io.read(source).timeline if isinstance(source, (str, Path)) else source)
    clips = list(timeline.find_clips())
    if clip_name:
        clips = [c for c in clips if c.name == clip_name]
        if not clips:
            raise ExchangeError(f"No clip named '{clip_name}' in the timeline.")
    if len(clips) != 1:
        names = ", ".join(c.name for c in clips[:10])
        raise ExchangeError(f"The timeline has {len(clips)} clips ({names}); pick one with --clip NAME.")
    clip = clips[0]
    out = Path(out)
    write_path = write_path or str(out.with_name(f"{safe_name(clip.name)}_comp.####.exr"))
    text = comp_script(clip, write_path, clip.trimmed_range().duration.rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
