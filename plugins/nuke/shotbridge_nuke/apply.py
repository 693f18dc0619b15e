"""ShotBridge results back into the node graph, beside the Read each one belongs to.

Call on Nuke's main thread (see dispatch.py). Applying the same result twice changes nothing: every node
made here is named after what it holds, and an existing one is reused.
"""

from __future__ import annotations

import nuke
import opentimelineio as otio

from shotbridge.exchange.cdl import get_cdl
from shotbridge.exchange.markers import list_findings
from shotbridge.exchange.shots import media_name
from shotbridge.nkscript import safe_name

DEFAULT = otio.schema.Clip.DEFAULT_MEDIA_KEY
COLUMN = 150  # DAG units between the plate and each take
RED = 0xFF0000FF


def _create(cls: str, name: str, x: int, y: int, **knobs):
    """The named node, created unconnected if it does not exist yet."""
    node = nuke.toNode(name)
    if node is None:
        for selected in nuke.selectedNodes():
            selected.setSelected(False)  # createNode connects to the selection otherwise
        node = nuke.createNode(cls, "name " + name, False)
    node.setXYpos(x, y)
    for knob, value in knobs.items():
        node[knob].setValue(value)
    return node


def apply_timeline(timeline) -> list[str]:
    """Apply every clip's takes, CDL, findings and mattes to the Read it came from; returns what was done."""
    done = []
    for clip in timeline.find_clips():
        name = (clip.metadata.get("nuke") or {}).get("node")
        read = nuke.toNode(name) if name else None
        if read is None:
            done.append(f"{clip.name}: no Read node '{name}' in this script; skipped")
            continue
        done += _takes(clip, read) + _cdl(clip, read) + _findings(clip, read)
    return done


def _takes(clip, read) -> list[str]:
    done = []
    column = 0
    for key, ref in clip.media_references().items():
        if key == DEFAULT:
            continue
        column += 1
        facts = ref.metadata.get("shotbridge") or {}
        x, y = read.xpos() + column * COLUMN, read.ypos()
        node = _create("Read", f"SB_{safe_name(read.name())}_{safe_name(key)}", x, y, file=media_name(ref) or "")
        operation = facts.get("operation") or "take"
        _create("BackdropNode", f"SB_{safe_name(read.name())}_{safe_name(key)}_bd", x - 20, y - 60,
                label=f"{operation}\n{key}", bdwidth=COLUMN - 20, bdheight=160)
        if facts.get("kind") == "matte":
            copy = _create("Copy", f"SB_{safe_name(read.name())}_{safe_name(key)}_alpha", read.xpos(), read.ypos() + 160,
                           from0="rgba.alpha", to0="rgba.alpha")
            copy.setInput(0, read)
            copy.setInput(1, node)
            done.append(f"{clip.name}: matte {key} copied into alpha")
        else:
            done.append(f"{clip.name}: take {key} as {node.name()}")
    return done


def _cdl(clip, read) -> list[str]:
    cdl = get_cdl(clip)
    if cdl is None:
        return []
    node = _create("OCIOCDLTransform", f"SB_{safe_name(read.name())}_CDL", read.xpos(), read.ypos() + 100,
                   slope=list(cdl.slope), offset=list(cdl.offset), power=list(cdl.power),
                   saturation=cdl.saturation)
    node.setInput(0, read)
    return [f"{clip.name}: CDL as {node.name()}"]


def _findings(clip, read) -> list[str]:
    drifts = list_findings(clip, "drift")
    if not drifts:
        return []
    lines = [f"drift: {d.get('found') or 'unknown'} instead of {d.get('expected')}, frames "
             f"{d.get('frames', ['?', '?'])[0]}-{d.get('frames', ['?', '?'])[-1]}" for _, d in drifts]
    read["tile_color"].setValue(RED)
    read["label"].setValue("\n".join(lines))
    return [f"{clip.name}: {len(lines)} drift finding(s) marked on {read.name()}"]
