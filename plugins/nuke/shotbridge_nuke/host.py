"""Selected Read nodes as an OTIO timeline of shots, one clip per Read, in the DAG's left-to-right order."""

from __future__ import annotations

import os
import re

import nuke
import opentimelineio as otio

from shotbridge.exchange.facts import Facts, set_facts

PATTERN = re.compile(r"(#+|%0?(\d*)d)")


def _knob(node, name: str, default=None):
    knob = node.knob(name)
    return knob.value() if knob is not None else default


def read_to_clip(node, rate: float) -> otio.schema.Clip:
    path = str(_knob(node, "file", ""))
    first, last = int(_knob(node, "first", 1)), int(_knob(node, "last", 1))
    duration = otio.opentime.RationalTime(last - first + 1, rate)
    m = PATTERN.search(os.path.basename(path))
    if m:
        folder, name = os.path.split(path)
        pad = len(m.group(1)) if m.group(1).startswith("#") else int(m.group(2) or 1)
        ref = otio.schema.ImageSequenceReference(
            target_url_base=folder + "/", name_prefix=name[:m.start()], name_suffix=name[m.end():],
            start_frame=first, frame_zero_padding=pad, rate=rate,
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), duration))
        source = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), duration)
    else:
        ref = otio.schema.ExternalReference(target_url=path)
        source = otio.opentime.TimeRange(otio.opentime.RationalTime(first - 1, rate), duration)
    fmt = node.format()
    clip = otio.schema.Clip(name=node.name(), media_reference=ref, source_range=source)
    set_facts(clip, Facts(id=f"{node.name()}:{path}"))
    clip.metadata["nuke"] = {"node": node.name(), "colorspace": str(_knob(node, "colorspace", "")),
                             "format": {"width": fmt.width(), "height": fmt.height(), "name": fmt.name() or ""}}
    return clip


def selection_to_timeline(rate: float | None = None) -> otio.schema.Timeline:
    reads = sorted(nuke.selectedNodes("Read"), key=lambda n: (n.xpos(), n.ypos()))
    if not reads:
        raise ValueError("Select one or more Read nodes first.")
    rate = rate or float(nuke.root()["fps"].value())
    timeline = otio.schema.Timeline(name=os.path.splitext(os.path.basename(nuke.root().name()))[0] or "nuke")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for node in reads:
        track.append(read_to_clip(node, rate))
    return timeline
