"""What the ShotBridge menu runs."""

from __future__ import annotations

import nuke
import opentimelineio as otio

from . import apply, host


def export_selection() -> None:
    try:
        timeline = host.selection_to_timeline()
    except ValueError as exc:
        nuke.message(str(exc))
        return
    path = nuke.getFilename("Save shots as OTIO", "*.otio")
    if path:
        otio.adapters.write_to_file(timeline, path)


def apply_from_file() -> None:
    path = nuke.getFilename("ShotBridge results (OTIO)", "*.otio")
    if not path:
        return
    from shotbridge.exchange import io

    done = apply.apply_timeline(io.read(path).timeline)
    nuke.message("\n".join(done) or "Nothing to apply.")
