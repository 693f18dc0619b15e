"""The selected Roto or RotoPaint node's matte as a mask file: a temporary Write of its alpha, executed for
the shot's first frame, then deleted. Call on Nuke's main thread (the panel's button click is)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nuke

MATTE_CLASSES = ("Roto", "RotoPaint")


def shot_first_frame(clip_name: str) -> int:
    """The first frame of the shot the Read named `clip_name` shows (the script's first frame without one)."""
    read = nuke.toNode(clip_name)
    knob = read.knob("first") if read is not None else None
    if knob is not None:
        return int(knob.value())
    return int(nuke.root()["first_frame"].value())


def render_matte(clip_name: str, folder: Path | None = None) -> Path:
    """The selected Roto/RotoPaint's alpha at the shot's first frame as a PNG; raises ValueError saying what to
    select when none is selected."""
    rotos = [n for n in nuke.selectedNodes() if n.Class() in MATTE_CLASSES]
    if not rotos:
        raise ValueError("Select a Roto or RotoPaint node first: its matte becomes the mask.")
    roto = rotos[0]
    frame = shot_first_frame(clip_name)
    folder = Path(folder or tempfile.mkdtemp(prefix="shotbridge-matte-"))
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{roto.name()}_{clip_name}".replace("/", "_")
    write: nuke.Node = nuke.nodes.Write(file=(folder / f"{stem}.####.png").as_posix(), file_type="png", channels="alpha")
    try:
        write.setInput(0, roto)
        nuke.execute(write, frame, frame)
    finally:
        nuke.delete(write)  # the artist's script is left as it was
    out = folder / f"{stem}.{frame:04d}.png"
    if not out.is_file():
        raise ValueError(f"Nuke wrote no matte for frame {frame} of {roto.name()}: check the node renders there.")
    return out
