"""The shot table's calls into Nuke: move the viewer to a shot's frame, select the shots' Read nodes.

A shot's frame counts from its first frame in the cut (0); on the Read that is frame `first` + n (image
sequences keep their file numbers, movies count from 1), which is what the viewer shows. Main thread only.
"""

from __future__ import annotations

import nuke

from .host import _value


def _read(name: str) -> nuke.Node:
    node = nuke.toNode(name)
    if node is None or node.Class() != "Read":
        raise LookupError(f"No Read node named '{name}' in this script: it was renamed or deleted. "
                          "Select the Reads again and press Use selection.")
    return node


def show_frame(clip_name: str, frame: int) -> str:
    """Move the script's current frame (the viewer's) to `frame` of the shot read by `clip_name`."""
    node = _read(clip_name)
    first, last = int(_value(node, "first", 1)), int(_value(node, "last", 1))
    target = min(max(first + int(frame), first), last)
    nuke.frame(target)
    return f"{clip_name}: viewer at frame {target}"


def select_reads(names: list[str]) -> str:
    """Select exactly the Read nodes of `names`; says which shots have no Read any more."""
    wanted = set(names)
    found = set()
    for node in nuke.allNodes("Read"):
        chosen = node.name() in wanted
        node.setSelected(chosen)
        if chosen:
            found.add(node.name())
    missing = [n for n in names if n not in found]
    return f"No Read node for {', '.join(missing)} in this script." if missing else ""
