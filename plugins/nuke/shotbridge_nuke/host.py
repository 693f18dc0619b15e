"""Nuke as a ShotBridge host: selected Read nodes out as an OTIO timeline of shots, results back as nodes.

One clip per Read, in the DAG's left-to-right order. Time is in frame numbers, as compositors count it:
a Read of sh010.####.exr showing frames 1009-1056 of 1001-1100 becomes an ImageSequenceReference with
start_frame 1001, available range 1001-1100 and a clip whose source range starts at 1009. Movies count
from frame 1 in Nuke and from time 0 in OTIO.

Call on Nuke's main thread.
"""

from __future__ import annotations

import os
import re

import nuke
import opentimelineio as otio

from shotbridge.exchange.facts import Facts, set_facts

# A frame pattern in a file name: ####, %04d or %d (the last one in the name wins, as in Nuke).
PATTERN = re.compile(r"(#+|%0?(\d*)d)")


def _value(node: nuke.Node, name: str, default=None):
    knob = node.knob(name)
    return knob.value() if knob is not None else default


def read_path(node: nuke.Node) -> str:
    """The Read's file as Nuke evaluates it (expressions like [getenv SHOW] resolved), with its frame pattern."""
    return nuke.filename(node) or str(_value(node, "file", ""))


def read_to_clip(node: nuke.Node, rate: float) -> otio.schema.Clip:
    path = read_path(node)
    first, last = int(_value(node, "first", 1)), int(_value(node, "last", 1))
    orig_first = int(_value(node, "origfirst", first))
    orig_last = int(_value(node, "origlast", last))
    orig_first, orig_last = min(orig_first, first), max(orig_last, last)  # first/last may reach past the files
    folder, name = os.path.split(path)
    matches = list(PATTERN.finditer(name))
    if matches:
        m = matches[-1]
        pad = len(m.group(1)) if m.group(1).startswith("#") else int(m.group(2) or 1)
        avail = otio.opentime.range_from_start_end_time_inclusive(
            otio.opentime.RationalTime(orig_first, rate), otio.opentime.RationalTime(orig_last, rate))
        ref = otio.schema.ImageSequenceReference(
            target_url_base=folder + "/", name_prefix=name[:m.start()], name_suffix=name[m.end():],
            start_frame=orig_first, frame_zero_padding=pad, rate=rate, available_range=avail)
        start = otio.opentime.RationalTime(first, rate)
    else:
        avail = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                        otio.opentime.RationalTime(orig_last - orig_first + 1, rate))
        ref = otio.schema.ExternalReference(target_url=path, available_range=avail)
        start = otio.opentime.RationalTime(first - orig_first, rate)
    clip = otio.schema.Clip(name=node.name(), media_reference=ref, source_range=otio.opentime.TimeRange(
        start, otio.opentime.RationalTime(last - first + 1, rate)))
    set_facts(clip, Facts(id=f"{node.name()}:{path}"))  # stable while the Read keeps its name and file
    fmt = node.format()
    clip.metadata["nuke"] = {
        "node": node.name(), "file": str(_value(node, "file", "")), "colorspace": str(_value(node, "colorspace", "")),
        "first": first, "last": last, "origfirst": orig_first, "origlast": orig_last,
        "format": {"name": fmt.name() or "", "width": fmt.width(), "height": fmt.height(),
                   "pixel_aspect": fmt.pixelAspect()},
    }
    return clip


def _dag_order(node: nuke.Node) -> tuple[int, int]:
    return node.xpos(), node.ypos()


def selection_to_timeline(rate: float | None = None) -> otio.schema.Timeline:
    """The selected Reads as a timeline; raises ValueError saying what to select when there are none."""
    reads = sorted(nuke.selectedNodes("Read"), key=_dag_order)
    if not reads:
        raise ValueError("Select one or more Read nodes first.")
    root = nuke.root()
    rate = rate or float(root["fps"].value())
    script = str(root["name"].value() or "")  # the script's path ("" while untitled)
    timeline = otio.schema.Timeline(name=os.path.splitext(os.path.basename(script))[0] or "nuke")
    timeline.metadata["nuke"] = {"script": script}
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for node in reads:
        track.append(read_to_clip(node, rate))
    return timeline


class NukeHost:
    """The panel's host in Nuke (shotbridge.panel.host.Host): call on Nuke's main thread."""

    name = "nuke"

    def selection(self) -> otio.schema.Timeline | None:
        try:
            return selection_to_timeline()
        except ValueError:
            return None

    def apply(self, timeline: otio.schema.Timeline) -> list[str]:
        from .apply import apply_timeline

        return apply_timeline(timeline)

    def notify(self, text: str, level: str = "info") -> None:
        """A finished job: a message in Nuke's status bar (never a modal nuke.message)."""
        from .notify import notify

        notify(text, level)

    # review (optional Host calls): a Read switch inside one undo group
    undo_note = "Accept and Reject are single steps in Nuke's Edit > Undo."

    def accept_take(self, clip_name: str, key: str, reference, clip=None) -> str:
        from .review import accept_take

        return accept_take(clip_name, key, reference)

    def reject_take(self, clip_name: str, key: str, was_active: bool, clip=None) -> str:
        from .review import reject_take

        return reject_take(clip_name, key, was_active)

    def matte(self, clip_name: str):
        """The selected Roto/RotoPaint's matte for the shot's first frame, as a PNG path (see matte.py)."""
        from .matte import render_matte

        return render_matte(clip_name)

    def still(self, clip_name: str):
        """The shot's first frame rendered by Nuke as a PNG, for the panel's painter (see matte.py)."""
        from .matte import render_still

        return render_still(clip_name)

    def show_frame(self, clip_name: str, frame: int) -> str:
        from .shots import show_frame

        return show_frame(clip_name, frame)

    def select_clips(self, names: list[str]) -> str:
        from .shots import select_reads

        return select_reads(names)
