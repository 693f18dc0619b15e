"""What the ShotBridge menu runs (on Nuke's main thread, from the menu)."""

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
        nuke.message(f"{len(timeline.find_clips())} shot(s) written to {path}")


def apply_from_file() -> None:
    path = nuke.getFilename("ShotBridge results (OTIO)", "*.otio")
    if not path:
        return
    from shotbridge.exchange import io

    done = apply.apply_timeline(io.read(path).timeline)
    nuke.message("\n".join(done) or "Nothing to apply.")


def clear_drift_marks() -> None:
    cleared = [read.name() for read in nuke.selectedNodes("Read") if apply.clear_drift(read)]
    nuke.message(f"Drift marks cleared on {', '.join(cleared)}." if cleared else "No selected Read is marked.")


def explain_missing_qt() -> None:
    nuke.message("The ShotBridge panel needs the qtpy package in Nuke's Python (Nuke ships PySide but not "
                 "qtpy). Install it for Nuke's Python, e.g. into the folder SHOTBRIDGE_PYTHONPATH names, and "
                 "restart Nuke. The ShotBridge menu works without it.")
