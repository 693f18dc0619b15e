"""Findings as OTIO markers: RED for drift, the finding itself in the marker's metadata."""

from __future__ import annotations

from typing import Any

import opentimelineio as otio

from . import anydict
from .facts import KEY


def add_finding(item: otio.core.Item, marked_range: otio.opentime.TimeRange, finding: dict[str, Any],
                name: str = "", color: str = otio.schema.MarkerColor.RED) -> otio.schema.Marker:
    """`marked_range` is in the item's own (source) time, as OTIO markers on clips are."""
    marker = otio.schema.Marker(name=name or finding.get("kind", "finding"), marked_range=marked_range,
                                color=color)
    anydict.put(marker, KEY, {"schema": 1, **finding})
    item.markers.append(marker)
    return marker


def list_findings(item: otio.core.Item, kind: str | None = None) -> list[tuple[otio.schema.Marker, dict]]:
    found = []
    for marker in anydict.listed(item.markers):
        data = anydict.get(marker, KEY)
        if data is not None and (kind is None or data.get("kind") == kind):
            found.append((marker, data))
    return found
