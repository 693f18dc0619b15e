"""OTIO metadata without the bindings' hidden costs.

OTIO's Python containers end every iteration, and answer every lookup of a missing key, with a C++ exception
(~10 us each), and convert each value written into them in Python (~85 us for a CDL). On a 10,000-clip cut
those costs are most of the work, so the exchange reads and writes metadata through these helpers:

- `keys(obj)`: the metadata keys, taking exactly len() of them so the iteration never reaches its end;
- `get(obj, key)`: a plain Python copy of one entry (dicts and lists all the way down), or None;
- `put(obj, key, value)`: writes a JSON-shaped value parsed by OTIO's own C++ reader, about 5x faster;
- `listed(seq)`: an OTIO vector (markers, effects, a track's children) as a Python list, by index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import opentimelineio as otio

try:  # the type OTIO's own setter passes through unconverted; absent from other versions' bindings
    from opentimelineio._otio import PyAny
except ImportError:  # pragma: no cover - exercised only on an OTIO without it
    PyAny = None


def keys(obj: Any) -> set[str]:
    md = obj.metadata
    it = iter(md)
    return {next(it) for _ in range(len(md))}


def listed(seq: Any) -> list:
    return [seq[i] for i in range(len(seq))]


def plain(value: Any) -> Any:
    """An OTIO value as plain Python: AnyDictionary -> dict, AnyVector -> list; objects and scalars as they are."""
    if isinstance(value, (str, bytes, otio.core.SerializableObject)):
        return value
    if isinstance(value, Mapping):
        items = iter(value.items())
        return {k: plain(v) for k, v in (next(items) for _ in range(len(value)))}
    if isinstance(value, Sequence):
        return [plain(value[i]) for i in range(len(value))]
    return value


def get(obj: Any, key: str, known: set[str] | None = None) -> Any:
    """`obj.metadata[key]` as plain Python, or None (`known`: the object's keys, when the caller has them)."""
    if key not in (keys(obj) if known is None else known):
        return None
    return plain(obj.metadata[key])


def put(obj: Any, key: str, value: Any) -> None:
    """`obj.metadata[key] = value`, with the same result as OTIO's setter (a test holds them equal)."""
    if PyAny is not None and type(value) in (dict, list) and _json_shaped(value):
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except ValueError:  # NaN or infinity: OTIO's own converter keeps them
            text = None
        if text is not None:
            obj.metadata[key] = PyAny(otio.core.deserialize_json_from_string(text))
            return
    obj.metadata[key] = value


def _json_shaped(value: Any) -> bool:
    """Only what OTIO's JSON reader (RapidJSON at normal precision) gives back bit for bit: string keys (never
    OTIO_SCHEMA, which would make it build an object); int64 integers (it wraps larger ones silently, where
    OTIO's setter refuses them); floats of at most 15 significant digits between 1e-7 and 1e15, which it
    computes with one exact division or product (it can miss longer ones by an ulp)."""
    t = type(value)
    if t is dict:
        return all(type(k) is str and k != "OTIO_SCHEMA" and _json_shaped(v) for k, v in value.items())
    if t is list or t is tuple:
        return all(_json_shaped(v) for v in value)
    if t is int:
        return -(2**63) <= value < 2**63
    if t is float:
        return value == 0.0 or (1e-7 <= abs(value) < 1e15 and float(f"{value:.15g}") == value)
    return t is str or t is bool or value is None
