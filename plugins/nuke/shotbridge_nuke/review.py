"""Accept and reject takes in Nuke: the shot's Read switches to the take's file, in one undo group, so
Edit > Undo brings the plate back. The plate's own settings are kept on the Read (a hidden knob) for Reject.

Call on Nuke's main thread.
"""

from __future__ import annotations

import json

import nuke
import opentimelineio as otio

from shotbridge.nkscript import media_range, tcl_escape

from .host import read_to_clip

PLATE = "shotbridge_plate"  # JSON: the Read's file and frame knobs before any take was accepted
TAKE = "shotbridge_take"  # the accepted take's key ("" while the plate shows)
FRAME_KNOBS = ("first", "last", "origfirst", "origlast")



def _read(clip_name: str) -> nuke.Node | None:
    node = nuke.toNode(clip_name)
    return node if node is not None and node.Class() == "Read" else None


def _own_knob(read: nuke.Node, name: str, label: str) -> nuke.Knob:
    knob = read.knob(name)
    if knob is None:
        knob = nuke.String_Knob(name, label)
        knob.setFlag(nuke.INVISIBLE)  # bookkeeping, not a control
        read.addKnob(knob)
    return knob


def accept_take(clip_name: str, key: str, reference: otio.core.MediaReference | None) -> str:
    read = _read(clip_name)
    if read is None:
        return f"{clip_name}: no Read node of that name in this script; the take is accepted in the panel only"
    if reference is None:
        return f"{clip_name}: take {key} has no media to read; the Read is unchanged"
    clip = read_to_clip(read, float(nuke.root()["fps"].value()))
    media = media_range(reference, clip)
    if media is None:
        return f"{clip_name}: take {key} has no file Nuke can read; the Read is unchanged"
    nuke.Undo.begin(f"ShotBridge: accept {key} on {clip_name}")
    try:
        plate = _own_knob(read, PLATE, "plate")
        if not plate.value():  # the first accept keeps the plate; later ones swap takes
            plate.setValue(json.dumps({"file": str(read["file"].value()),
                                       **{k: int(read[k].value()) for k in FRAME_KNOBS}}))
        read["file"].setValue(tcl_escape(media.path))  # the file knob evaluates TCL: brackets stay literal
        # origfirst/origlast first: Nuke clamps first/last into the original range
        for knob, value in (("origfirst", media.first), ("origlast", media.last), ("first", media.first),
                            ("last", media.last)):
            read[knob].setValue(value)
        _own_knob(read, TAKE, "take").setValue(key)
    finally:
        nuke.Undo.end()
    return f"{clip_name}: the Read now reads take {key} ({media.path}); Edit > Undo restores the plate"


def reject_take(clip_name: str, key: str, was_active: bool) -> str:
    read = _read(clip_name)
    taken = read.knob(TAKE) if read is not None else None
    if read is None or taken is None or taken.value() != key:
        return f"{clip_name}: take {key} hidden (the Read does not read it)"
    plate = read.knob(PLATE)
    saved = json.loads(plate.value()) if plate is not None and plate.value() else None
    if saved is None:
        return f"{clip_name}: take {key} hidden; the Read's plate was not recorded, so it still reads the take"
    nuke.Undo.begin(f"ShotBridge: reject {key} on {clip_name}")
    try:
        read["file"].setValue(saved["file"])
        for knob in ("origfirst", "origlast", "first", "last"):
            read[knob].setValue(saved[knob])
        taken.setValue("")
    finally:
        nuke.Undo.end()
    return f"{clip_name}: take {key} rejected; the Read reads its plate again (Edit > Undo takes this back)"
