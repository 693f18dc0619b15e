"""Nuke comp scripts (.nk) written without Nuke: a shot's plate, its CDL, its mattes, its takes and a Write.

The text follows what Nuke itself saves (see ../shared/corpus/nk): one `Class { knob value ... }` block per
node, knobs one per line, and nodes wired through Nuke's stack: a node pops its inputs off the stack (the
top is input 0) and pushes itself. The script is laid out so that plain stacking does the wiring:

    matte Reads (pushed first, so they end up as the Copy's A input)
    plate Read -> OCIOCDLTransform -> Copy (alpha from each matte) -> Write
    takes: unconnected Reads, each inside a BackdropNode naming the operation and version

Knob values go through two levels of quoting, as in Nuke itself: the script level (TCL words: quotes,
backslashes, braces) and, for string knobs Nuke evaluates (file, label), the evaluation level, where
`[...]` runs a TCL command and `$x` reads a variable. `knob_text` does both, so a path like
`/plates/sh010 [v2]/a.####.exr` reaches Nuke's Read exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from .exchange.cdl import get_cdl
from .exchange.errors import ExchangeError
from .exchange.shots import as_timeline, sequence_frame

DEFAULT_KEY = otio.schema.Clip.DEFAULT_MEDIA_KEY
TAKE_SPACING = 150  # DAG units between the plate column and each take's column
ROW = 60  # DAG units between nodes of the plate stream
NUKE_VERSION = "13.2 v1"  # the oldest API ShotBridge is checked against (types-nuke 13.2); newer Nukes open it
BACKDROP_COLOR = "0x3b4a5aff"
MATTE_KIND = "matte"  # metadata["shotbridge"]["kind"] on a media reference that holds a matte
MATTE_CHANNEL = "rgba.red"  # where a matte's values are unless its facts say `channel` (grey images: r=g=b)

_BARE = re.compile(r"^[A-Za-z0-9_./:+\-#%@,=]+$")  # words Nuke itself writes without quotes


@dataclass
class _Media:
    path: str
    first: int
    last: int


# -- quoting -------------------------------------------------------------------------------------------


def tcl_escape(text: str) -> str:
    """Evaluation level: a string knob's text that evaluates to `text` (no command or variable runs)."""
    return re.sub(r"([\\\[\]$])", r"\\\1", text)


def nk_word(text: str) -> str:
    """Script level: `text` as one TCL word inside a node block: bare when safe, else quoted and escaped."""
    if text and _BARE.match(text) and not text.startswith("#"):
        return text
    escaped = re.sub(r'([\\"\[\]${}])', r"\\\1", text).replace("\n", "\\n").replace("\t", "\\t")
    return '"' + escaped + '"'


def quote(text: str) -> str:
    """Always quoted (Root's format and name, as Nuke writes them)."""
    word = nk_word(text)
    return word if word.startswith('"') else f'"{word}"'


def knob_text(text: str) -> str:
    """A string knob that Nuke evaluates (file, label): both levels of quoting."""
    return nk_word(tcl_escape(text))


def safe_name(name: str) -> str:
    """A Nuke node name: letters, digits and underscores, starting with a letter."""
    out = "".join(c if c.isalnum() else "_" for c in name)
    return out if out[:1].isalpha() else f"n{out}"


# -- media ---------------------------------------------------------------------------------------------


def local_path(url: str) -> str:
    """A file URL as the path Nuke reads (forward slashes work on every OS Nuke runs on)."""
    parsed = urlparse(url)
    path = unquote(parsed.path) if parsed.scheme == "file" else url
    if parsed.scheme == "file" and re.match(r"^/[A-Za-z]:/", path):
        path = path[1:]  # file:///C:/x -> C:/x
    return path.replace("\\", "/")


def media_range(ref, clip: otio.schema.Clip) -> _Media | None:
    """File path (#### for sequences) and Nuke frame range of the part of the media the clip uses."""
    rng = clip.trimmed_range()
    duration = max(1, round(rng.duration.value))
    if isinstance(ref, otio.schema.ImageSequenceReference):
        first = sequence_frame(ref, rng.start_time)
        pattern = f"{ref.name_prefix}{'#' * max(1, ref.frame_zero_padding)}{ref.name_suffix}"
        # The pattern joins after URL parsing: '#' would start a URL fragment.
        return _Media(local_path(ref.target_url_base).rstrip("/") + "/" + pattern, first, first + duration - 1)
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        avail = ref.available_range.start_time if ref.available_range else otio.opentime.RationalTime(0, rng.start_time.rate)
        first = round((rng.start_time - avail).rescaled_to(rng.start_time.rate).value) + 1  # movie frames count from 1
        return _Media(local_path(ref.target_url), first, first + duration - 1)
    return None


def facts_of(ref) -> dict:
    return dict(ref.metadata.get("shotbridge") or {})


def is_matte(ref) -> bool:
    return facts_of(ref).get("kind") == MATTE_KIND


def version_of(key: str) -> str:
    """'gen_v003' -> 'v003' (the take key carries the version), else the key itself."""
    m = re.search(r"v\d+", key)
    return m.group(0) if m else key


def take_label(key: str, ref) -> str:
    """What a take's backdrop says: operation and version, then the key."""
    operation = facts_of(ref).get("operation") or ("matte" if is_matte(ref) else "take")
    return f"{operation} {version_of(key)}\n{key}"


# -- the script ----------------------------------------------------------------------------------------


def _node(cls: str, knobs: list[tuple[str, str]]) -> str:
    return cls + " {\n" + "".join(f" {k} {v}\n" for k, v in knobs) + "}\n"


def _read(name: str, media: _Media, x: int, y: int, label: str = "", colorspace: str | None = None) -> str:
    knobs = [("inputs", "0"), ("file", knob_text(media.path)), ("first", str(media.first)),
             ("last", str(media.last)), ("origfirst", str(media.first)), ("origlast", str(media.last)),
             ("origset", "true")]
    if colorspace:
        knobs.append(("colorspace", nk_word(colorspace)))
    if label:
        knobs.append(("label", knob_text(label)))
    return _node("Read", [*knobs, ("name", name), ("xpos", str(x)), ("ypos", str(y))])


def _format(clip: otio.schema.Clip, size: tuple[int, int] | None) -> str:
    fmt = (clip.metadata.get("nuke") or {}).get("format") or {}
    w, h = size or (int(fmt.get("width") or 1920), int(fmt.get("height") or 1080))
    aspect = float(fmt.get("pixel_aspect") or 1)
    name = "HD_1080" if (w, h, aspect) == (1920, 1080, 1) else f"shotbridge_{w}x{h}"
    return quote(f"{w} {h} 0 0 {w} {h} {aspect:g} {name}")


def comp_script(clip: otio.schema.Clip, write_path: str, fps: float, size: tuple[int, int] | None = None,
                script_name: str | None = None) -> str:
    """The .nk text for one shot."""
    refs = clip.media_references()
    plate = media_range(refs[DEFAULT_KEY], clip) if DEFAULT_KEY in refs else None
    if plate is None:
        raise ExchangeError(f"Clip '{clip.name}' has no plate (its original media reference is missing or "
                            "not a file); a comp script needs one.")
    shot = safe_name(clip.name)
    colorspace = str((clip.metadata.get("nuke") or {}).get("colorspace") or "")
    extras = [(key, ref, media_range(ref, clip)) for key, ref in refs.items() if key != DEFAULT_KEY]
    extras = [(key, ref, media) for key, ref, media in extras if media is not None]
    mattes = [(key, ref, media) for key, ref, media in extras if is_matte(ref)]
    takes = [(key, ref, media) for key, ref, media in extras if not is_matte(ref)]

    parts = [
        "#! nuke -nx\n",
        f"version {NUKE_VERSION}\n",
        _node("Root", [("inputs", "0"), ("name", quote(script_name or f"{clip.name}.nk")),
                       ("first_frame", str(plate.first)), ("last_frame", str(plate.last)), ("lock_range", "true"),
                       ("fps", f"{fps:g}"), ("format", _format(clip, size))]),
    ]
    columns = {key: i + 1 for i, (key, _, _) in enumerate([*mattes, *takes])}
    for key, ref, _media in [*mattes, *takes]:
        # Backdrops first, as Nuke saves them: drawn behind the nodes they hold; nothing takes them as input.
        x = columns[key] * TAKE_SPACING
        parts.append(_node("BackdropNode", [
            ("inputs", "0"), ("name", f"Backdrop_{safe_name(key)}"), ("label", knob_text(take_label(key, ref))),
            ("tile_color", BACKDROP_COLOR), ("xpos", str(x - 20)), ("ypos", str(-ROW)),
            ("bdwidth", str(TAKE_SPACING - 20)), ("bdheight", str(2 * ROW + 40))]))
    for key, _ref, media in reversed(mattes):  # pushed first, in reverse: each Copy pops the plate, then its matte
        parts.append(_read(f"Matte_{safe_name(key)}", media, columns[key] * TAKE_SPACING, 0, label=key))
    parts.append(_read(f"Plate_{shot}", plate, 0, 0, label=clip.name, colorspace=colorspace or None))
    y = 0
    cdl = get_cdl(clip)
    if cdl is not None:
        y += ROW
        parts.append(_node("OCIOCDLTransform", [
            ("slope", "{" + " ".join(f"{v:g}" for v in cdl.slope) + "}"),
            ("offset", "{" + " ".join(f"{v:g}" for v in cdl.offset) + "}"),
            ("power", "{" + " ".join(f"{v:g}" for v in cdl.power) + "}"),
            ("saturation", f"{cdl.saturation:g}"),
            ("name", f"CDL_{shot}"), ("xpos", "0"), ("ypos", str(y))]))
    for key, ref, _media in mattes:
        y += ROW
        parts.append(_node("Copy", [
            ("inputs", "2"), ("from0", nk_word(str(facts_of(ref).get("channel") or MATTE_CHANNEL))),
            ("to0", "rgba.alpha"), ("name", f"Copy_{safe_name(key)}"), ("xpos", "0"), ("ypos", str(y))]))
    y += ROW
    write = [("file", knob_text(write_path)), ("file_type", "exr")]
    if mattes:
        write.append(("channels", "rgba"))
    parts.append(_node("Write", [*write, ("name", f"Write_{shot}"), ("xpos", "0"), ("ypos", str(y))]))
    for key, ref, media in takes:
        parts.append(_read(f"Take_{safe_name(key)}", media, columns[key] * TAKE_SPACING, 0,
                           label=take_label(key, ref).replace("\n", " ")))
    return "".join(parts)


def pick_clip(timeline: otio.schema.Timeline, clip_name: str | None = None) -> otio.schema.Clip:
    clips = list(timeline.find_clips())
    if clip_name:
        clips = [c for c in clips if c.name == clip_name]
        if not clips:
            raise ExchangeError(f"No clip named '{clip_name}' in the timeline.")
    if len(clips) != 1:
        names = ", ".join(c.name for c in clips[:10])
        raise ExchangeError(f"The timeline has {len(clips)} clips ({names}); pick one with --clip NAME.")
    return clips[0]


def write_comp(source, out: str | Path, clip_name: str | None = None, write_path: str | None = None,
               fps: float | None = None, size: tuple[int, int] | None = None) -> Path:
    """Write `out` (.nk) for one shot and return its path.

    `source`: an OTIO Timeline, Clip or Track, or a path to anything `shotbridge.exchange.io` reads.
    `clip_name` picks the clip when there are several. `write_path` is the Write node's file (default:
    beside the .nk, SHOT_comp.####.exr). `fps` defaults to the clip's rate, `size` to the Read's format
    recorded by the Nuke adapter, else 1920x1080.
    """
    if isinstance(source, (str, Path)):
        from .exchange import untrusted

        source = untrusted.read(source).timeline
    clip = pick_clip(as_timeline(source), clip_name)
    out = Path(out)
    write_path = write_path or str(out.with_name(f"{safe_name(clip.name)}_comp.####.exr"))
    text = comp_script(clip, write_path, fps or clip.trimmed_range().duration.rate, size,
                       script_name=str(out.resolve()))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")  # never leave half a script where Nuke might open it
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
