"""Names from outside (requests, timelines, providers, job outputs) made safe to meet a file system.

`safe_name` is the one function that turns any string into a plain file name: no separators, no parent or
hidden-file dots, no control or invisible characters, nothing Windows reserves, NFKC-normalised (so a fullwidth
'／' cannot turn into a '/' later) and short enough for every file system. It is idempotent, so a name that is
already safe comes back unchanged. `inside` is what a writer calls: it refuses, naming the field, any name that
is not already such a plain name, and proves the result stays in the folder.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .errors import ShotBridgeError

MAX_BYTES = 200  # of UTF-8: under every file system's 255, with room for a temporary '.NAME.part'
MAX_SUFFIX = 16
# Separators and what Windows forbids, plus slash and dot look-alikes that NFKC leaves alone.
_FORBIDDEN = set('/\\<>:"|?*') | {"\u2215", "\u2044", "\u29f8", "\u29f9", "\u2216", "\u2024", "\u2025"}
# Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned, line/paragraph separators.
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$",
             *(f"{p}{d}" for p in ("com", "lpt") for d in "0123456789\u00b9\u00b2\u00b3")}


class UnsafeName(ShotBridgeError, ValueError):
    """A name that cannot be used as a file name; `field` says where it came from."""

    def __init__(self, field: str, name: object, reason: str):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        super().__init__(f"{field}: {shown} {reason}")
        self.field, self.name, self.reason = field, name, reason


def safe_name(name: str, field: str = "name", default: str | None = None, max_bytes: int = MAX_BYTES) -> str:
    """A plain file name made from `name`; `default` (or an error naming `field`) when nothing usable is left.
    Names longer than `max_bytes` (UTF-8) are cut, keeping the extension and a digest of the whole name."""
    if not isinstance(name, str):
        raise UnsafeName(field, name, "is not text")
    text = unicodedata.normalize("NFKC", name)
    text = "".join("_" if ch in _FORBIDDEN or unicodedata.category(ch) in _BAD_CATEGORIES else ch for ch in text)
    text = text.strip().rstrip(". ")  # Windows drops trailing dots and spaces: 'a.' and 'a' would be one file
    stripped = text.lstrip(".")
    if stripped != text:  # '..', '.', and hidden files: never a parent, never invisible
        text = "_" + stripped
    if not text.strip("_"):
        if default is not None:
            return default
        raise UnsafeName(field, name, "has no characters usable in a file name; give it a name with letters or digits")
    if text.split(".", 1)[0].rstrip(" ").casefold() in _RESERVED:
        text = "_" + text
    if len(text.encode("utf-8")) > max_bytes:
        text = _shorten(text, name, max_bytes)
    return text


def _shorten(text: str, original: str, max_bytes: int) -> str:
    """Cut to `max_bytes` keeping the extension, with a digest of the whole name so long names stay distinct."""
    dot = text.rfind(".")
    suffix = text[dot:] if 0 < dot and len(text) - dot <= MAX_SUFFIX else ""
    mark = "~" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    room = max_bytes - len((mark + suffix).encode("utf-8"))
    stem = text[: len(text) - len(suffix)].encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return stem + mark + suffix


def is_plain(name: str) -> bool:
    """True when `name` is already a safe file name (safe_name would leave it as it is)."""
    try:
        return safe_name(name) == name
    except UnsafeName:
        return False


def inside(folder: str | Path, name: str, field: str = "name") -> Path:
    """`folder / name`, refused unless `name` is a plain file name that stays inside `folder`."""
    if not is_plain(name):
        raise UnsafeName(field, name, "is not a plain file name; refusing to write it "
                         f"(it would be saved as {safe_name(name, field, '_')!r})")
    folder = Path(folder)
    path = folder / name
    if path.resolve().parent != folder.resolve():  # a symlink already in the folder cannot lead elsewhere
        raise UnsafeName(field, name, f"resolves outside {folder}; refusing to write it")
    return path


def unique_name(name: str, taken: set[str]) -> str:
    """`name` (already safe) or, when its case-folded form is in `taken`, the first free 'stem-2.ext',
    'stem-3.ext' ...: macOS and Windows would make 'A.png' and 'a.png' one file."""
    candidate, n = name, 1
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    while candidate.casefold() in taken:
        n += 1
        candidate = safe_name(f"{stem}-{n}{ext}")
    return candidate


def clashing(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of names that would be one file where case is ignored."""
    first: dict[str, str] = {}
    pairs = []
    for name in names:
        other = first.setdefault(name.casefold(), name)
        if other != name:
            pairs.append((other, name))
    return pairs
