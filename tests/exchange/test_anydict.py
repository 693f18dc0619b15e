"""anydict writes what OTIO's own setter writes, and reads back plain Python."""

from __future__ import annotations

import math

import opentimelineio as otio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbridge.exchange import anydict

VALUES = [
    {"asc_sop": {"slope": [1.1, 1.0, 0.9], "offset": (0.0, -0.01, 0.02), "power": [1, 1, 1]}, "asc_sat": 0.8},
    {"schema": 1, "id": "sh010", "characters": ["héro", "日本"], "seed": 2**63 - 1, "ok": True, "none": None},
    {"empty": {}, "nothing": [], "nested": [[1, [2, {"a": "b"}]]]},
    ["a", 1, 2.5, False, None],
    {"big": 2**63},  # past int64: OTIO refuses it, so must we
    {"nan": math.nan, "inf": math.inf},
    {"zeros": [0.0, -0.0], "edges": [1e-7, 9.99999999999999e14, 1.0647926670774507e-196, 0.30000000000000004]},
    {"time": otio.opentime.RationalTime(12, 24)},
    {"OTIO_SCHEMA": "Clip.2", "name": "not an object here"},
    {1: "an int key"},
]


def _set(setter, value):
    clip = otio.schema.Clip(name="c")
    try:
        setter(clip, value)
    except Exception as exc:  # both must refuse alike
        return type(exc).__name__
    return otio.adapters.write_to_string(clip)


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_put_writes_what_otio_writes(value):
    def otio_setter(clip, v):
        clip.metadata["k"] = v

    assert _set(lambda c, v: anydict.put(c, "k", v), value) == _set(otio_setter, value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_put_matches_otio_setter_on_any_json(value):
    def otio_setter(clip, v):
        clip.metadata["k"] = v

    assert _set(lambda c, v: anydict.put(c, "k", v), value) == _set(otio_setter, value)


def test_the_fast_path_is_live_on_the_pinned_otio():
    # If an OTIO upgrade drops the type, put() still works but 5x slower: this says so.
    assert anydict.PyAny is not None


def test_reads_come_back_as_plain_python():
    clip = otio.schema.Clip(name="c", metadata={"a": {"b": [1, {"c": 2}]}, "d": 3},
                            markers=[otio.schema.Marker(name=n) for n in "xyz"])
    assert anydict.keys(clip) == {"a", "d"}
    value = anydict.get(clip, "a")
    assert value == {"b": [1, {"c": 2}]} and type(value) is dict and type(value["b"]) is list
    assert anydict.get(clip, "missing") is None
    assert anydict.get(clip, "d", known={"a"}) is None  # the caller's key set is trusted
    assert [m.name for m in anydict.listed(clip.markers)] == ["x", "y", "z"]
    assert anydict.keys(otio.schema.Clip()) == set() and anydict.listed(otio.schema.Track()) == []
    time = otio.opentime.RationalTime(5, 24)
    clip.metadata["t"] = {"at": time}
    assert anydict.get(clip, "t") == {"at": time}


def test_without_the_fast_type_put_uses_otios_setter(monkeypatch):
    monkeypatch.setattr(anydict, "PyAny", None)
    clip = otio.schema.Clip(name="c")
    anydict.put(clip, "cdl", {"asc_sat": 0.5})
    assert anydict.get(clip, "cdl") == {"asc_sat": 0.5}
