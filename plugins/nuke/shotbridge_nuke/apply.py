"""ShotBridge results back into the node graph, beside the Read each one belongs to.

    take   -> a Read to the right of its source, inside a Backdrop naming the operation and version
    CDL    -> an OCIOCDLTransform under the source Read (slope, offset, power, saturation)
    matte  -> a Read (in its Backdrop) plus a Copy of its channel into rgba.alpha of the plate stream
    drift  -> the source Read turns red; its label names the character and the frames

Call on Nuke's main thread (see dispatch.py). Applying the same result again changes nothing: every node
made here carries a `shotbridge_tag` knob naming what it holds, and an existing tagged node is updated
rather than duplicated (so artists may rename or move them).
"""

from __future__ import annotations

import re

import nuke
import opentimelineio as otio

from shotbridge.exchange.cdl import get_cdl
from shotbridge.exchange.markers import list_findings
from shotbridge.exchange.shots import media_name
from shotbridge.nkscript import (
    MATTE_CHANNEL,
    facts_of,
    is_matte,
    local_path,
    media_range,
    safe_name,
    take_label,
    tcl_escape,
)

DEFAULT = otio.schema.Clip.DEFAULT_MEDIA_KEY
TAG = "shotbridge_tag"
COLUMN = 150  # DAG units between the plate and each take
ROW = 60  # DAG units between nodes of the plate stream
RED = 0xFF0000FF
BACKDROP = 0x3B4A5AFF
ACCEPTED = 0x3F7F3FFF  # the active (accepted) take's backdrop
DRIFT_PREFIX = "ShotBridge drift:"


class Graph:
    """The script's ShotBridge nodes by tag, found once per apply."""

    def __init__(self) -> None:
        self.tagged: dict[str, nuke.Node] = {}
        for node in nuke.allNodes():
            tag = node.knob(TAG)
            if tag is not None and tag.value():
                self.tagged[str(tag.value())] = node

    def node(self, make, tag: str, name: str, x: int, y: int) -> nuke.Node:
        """The node tagged `tag`, made with `make` (a nuke.nodes constructor) if there is none yet."""
        node: nuke.Node | None = self.tagged.get(tag)
        if node is None:
            node = make()
            node.setName(name, uncollide=True)
            node.addKnob(nuke.Tab_Knob("shotbridge", "ShotBridge"))
            holder = nuke.String_Knob(TAG, "result")
            holder.setFlag(nuke.READ_ONLY)  # visible, so the artist sees what it holds; not editable
            node.addKnob(holder)
            node[TAG].setValue(tag)
            node.setXYpos(x, y)  # placed once: an artist's later move is kept on re-apply
            self.tagged[tag] = node
        return node


def apply_timeline(timeline: otio.schema.Timeline) -> list[str]:
    """Apply every clip's takes, CDL, mattes and findings to the Read it came from; returns what was done."""
    done: list[str] = []
    nuke.Undo.begin("ShotBridge: apply results")  # one undo step for the whole result
    try:
        graph = Graph()
        for clip in timeline.find_clips():
            read = source_read(clip)
            if read is None:
                name = (clip.metadata.get("nuke") or {}).get("node") or clip.name
                done.append(f"{clip.name}: no Read node '{name}' (or one reading its plate) in this script; skipped")
                continue
            stream = _cdl(graph, clip, read, done)
            done += _takes(graph, clip, read, stream)
            done += _findings(clip, read)
    finally:
        nuke.Undo.end()
    return done


def source_read(clip: otio.schema.Clip) -> nuke.Node | None:
    """The Read the clip came from: by the node name the adapter recorded, else by its plate's file."""
    name = (clip.metadata.get("nuke") or {}).get("node")
    node = nuke.toNode(name) if name else None
    if node is not None and node.Class() == "Read":
        return node
    plate = clip.media_references().get(DEFAULT)
    wanted = media_range(plate, clip) if plate is not None else None
    if wanted is None:
        return None
    for read in nuke.allNodes("Read"):
        if _same_file(str(read["file"].value()), wanted.path):
            return read
    return None


def _same_file(knob_value: str, path: str) -> bool:
    unescaped = re.sub(r"\\(.)", r"\1", knob_value)
    return re.sub(r"(#+|%0?\d*d)", "#", unescaped) == re.sub(r"(#+|%0?\d*d)", "#", path)


def _key(read: nuke.Node) -> str:
    return safe_name(read.name())


def _cdl(graph: Graph, clip: otio.schema.Clip, read: nuke.Node, done: list[str]) -> nuke.Node:
    """The OCIOCDLTransform under the Read; returns the head of the plate stream (it, or the Read)."""
    cdl = get_cdl(clip)
    if cdl is None:
        earlier: nuke.Node | None = graph.tagged.get(f"cdl@{read.name()}")
        return earlier or read
    node = graph.node(nuke.nodes.OCIOCDLTransform, f"cdl@{read.name()}", f"SB_{_key(read)}_CDL",
                      read.xpos(), read.ypos() + 2 * ROW)
    node["slope"].setValue(list(cdl.slope))
    node["offset"].setValue(list(cdl.offset))
    node["power"].setValue(list(cdl.power))
    node["saturation"].setValue(cdl.saturation)
    node.setInput(0, read)
    done.append(f"{clip.name}: CDL as {node.name()}")
    return node


def _takes(graph: Graph, clip: otio.schema.Clip, read: nuke.Node, stream: nuke.Node) -> list[str]:
    done = []
    active = clip.active_media_reference_key
    column = 0
    for key, ref in clip.media_references().items():
        if key == DEFAULT:
            continue
        media = media_range(ref, clip)
        path = media.path if media else local_path(media_name(ref) or "")
        if not path:
            done.append(f"{clip.name}: take {key} has no file; skipped")
            continue
        column += 1
        x, y = read.xpos() + column * COLUMN, read.ypos()
        kind = "matte" if is_matte(ref) else "take"
        backdrop = graph.node(nuke.nodes.BackdropNode, f"{kind}-backdrop:{key}@{read.name()}",
                              f"SB_{_key(read)}_{safe_name(key)}_bd", x - 20, y - ROW)
        backdrop["label"].setValue(tcl_escape(take_label(key, ref) + ("\naccepted" if key == active else "")))
        backdrop["tile_color"].setValue(ACCEPTED if key == active else BACKDROP)
        backdrop["bdwidth"].setValue(COLUMN - 20)
        backdrop["bdheight"].setValue(2 * ROW + 40)
        node = graph.node(nuke.nodes.Read, f"{kind}:{key}@{read.name()}", f"SB_{_key(read)}_{safe_name(key)}", x, y)
        node["file"].setValue(tcl_escape(path))  # the file knob evaluates TCL: brackets in paths stay literal
        if media is not None:
            for knob, value in (("first", media.first), ("last", media.last), ("origfirst", media.first),
                                ("origlast", media.last)):
                node[knob].setValue(value)
        if kind == "matte":
            stream = _matte(graph, key, ref, read, node, stream)
            done.append(f"{clip.name}: matte {key} copied into alpha by {stream.name()}")
        else:
            done.append(f"{clip.name}: take {key} as {node.name()}" + (" (accepted)" if key == active else ""))
    return done


def _matte(graph: Graph, key: str, ref, read: nuke.Node, matte: nuke.Node, stream: nuke.Node) -> nuke.Node:
    """A Copy under the plate stream taking the matte's channel into alpha; returns the new stream head."""
    copy = graph.node(nuke.nodes.Copy, f"matte-copy:{key}@{read.name()}", f"SB_{_key(read)}_{safe_name(key)}_alpha",
                      read.xpos(), stream.ypos() + ROW)
    copy["from0"].setValue(str(facts_of(ref).get("channel") or MATTE_CHANNEL))
    copy["to0"].setValue("rgba.alpha")
    copy.setInput(0, stream)  # B: the plate (graded when there is a CDL)
    copy.setInput(1, matte)  # A: the matte
    return copy


def _findings(clip: otio.schema.Clip, read: nuke.Node) -> list[str]:
    """Drift marks the Read red and labels it; the artist's own label lines are kept.

    A result without findings leaves earlier marks alone (a take is no verdict on drift); the artist
    clears them with ShotBridge > Clear drift marks.
    """
    drifts = list_findings(clip, "drift")
    if not drifts:
        return []
    lines = []
    for marker, finding in drifts:
        frames = finding.get("frames") or _marker_frames(marker)
        who = finding.get("expected") or "the character"
        found = finding.get("found") or "someone else"
        lines.append(f"{DRIFT_PREFIX} {found} instead of {who}, frames {frames[0]}-{frames[-1]}")
    read["tile_color"].setValue(RED)
    read["label"].setValue("\n".join([*_own_label(read), *(tcl_escape(line) for line in lines)]))
    return [f"{clip.name}: {len(lines)} drift finding(s) marked on {read.name()}"]


def _own_label(read: nuke.Node) -> list[str]:
    return [line for line in str(read["label"].value() or "").split("\n") if not line.startswith(DRIFT_PREFIX)]


def clear_drift(read: nuke.Node) -> bool:
    """Remove ShotBridge's drift mark from a Read (colour and label lines); True if there was one."""
    own = _own_label(read)
    if len(own) == len(str(read["label"].value() or "").split("\n")) and read["tile_color"].value() != RED:
        return False
    read["label"].setValue("\n".join(own))
    if read["tile_color"].value() == RED:
        read["tile_color"].setValue(0)  # 0: the node class's own colour
    return True


def _marker_frames(marker: otio.schema.Marker) -> list[int]:
    rng = marker.marked_range
    first = round(rng.start_time.value)
    return [first, first + max(1, round(rng.duration.value)) - 1]
