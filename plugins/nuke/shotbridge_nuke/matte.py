"""The selected Roto or RotoPaint node's matte as a mask file: a temporary Write of its alpha, executed for
the shot's first frame, then deleted. Also a shot's first frame as a PNG for the panel's painter (plates are
EXR or DPX, which the panel does not decode; Nuke does, with the Read's colour management). Call on Nuke's
main thread (the panel's button click is)."""

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


def _render(source: nuke.Node, stem: str, frame: int, channels: str, folder: Path | None) -> Path:
    """`source` at `frame` through a temporary Write (PNG, 8 bit), deleted again; the PNG's path."""
    folder = Path(folder or tempfile.mkdtemp(prefix="shotbridge-matte-"))
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem.replace("/", "_")
    write: nuke.Node = nuke.nodes.Write(file=(folder / f"{stem}.####.png").as_posix(), file_type="png",
                                        channels=channels)
    try:
        write.setInput(0, source)
        nuke.execute(write, frame, frame)
    finally:
        nuke.delete(write)  # the artist's script is left as it was
    out = folder / f"{stem}.{frame:04d}.png"
    if not out.is_file():
        raise ValueError(f"Nuke wrote nothing for frame {frame} of {source.name()}: check the node renders there.")
    return out


def render_still(clip_name: str, folder: Path | None = None) -> Path:
    """The Read named `clip_name` at its first frame as a PNG, for the panel's painter."""
    read = nuke.toNode(clip_name)
    if read is None:
        raise ValueError(f"No Read named {clip_name} in the script: use the selection again.")
    return _render(read, f"{clip_name}_still", shot_first_frame(clip_name), "rgb", folder)


def render_matte(clip_name: str, folder: Path | None = None) -> Path:
    """The selected Roto/RotoPaint's alpha at the shot's first frame as a PNG; raises ValueError saying what to
    select when none is selected."""
    rotos = [n for n in nuke.selectedNodes() if n.Class() in MATTE_CLASSES]
    if not rotos:
        raise ValueError("Select a Roto or RotoPaint node first: its matte becomes the mask.")
    roto = rotos[0]
    return _render(roto, f"{roto.name()}_{clip_name}", shot_first_frame(clip_name), "alpha", folder)
