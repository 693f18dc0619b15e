"""The ShotBridge menu and the dockable panel (GUI sessions only; called from the plugin's menu.py)."""

from __future__ import annotations

import importlib.util

import nuke
import nukescripts

PANEL_ID = "uk.co.shotbridge.panel"
PANEL_CLASS = "shotbridge_nuke.panel.ShotBridgePanel"


def qt_available() -> bool:
    """The panel needs qtpy (Nuke ships PySide2 or PySide6 but not qtpy); checked without importing Qt."""
    return importlib.util.find_spec("qtpy") is not None


def command(name: str) -> str:
    """A menu script: Nuke runs it in its own namespace, so it imports what it calls (lazily, on click)."""
    return f"import shotbridge_nuke.commands; shotbridge_nuke.commands.{name}()"


def install() -> None:
    menu: nuke.Menu = nuke.menu("Nuke").addMenu("ShotBridge")
    menu.addCommand("Export selected Reads as OTIO...", command("export_selection"))
    menu.addCommand("Apply results from OTIO...", command("apply_from_file"))
    menu.addCommand("Clear drift marks on selected Reads", command("clear_drift_marks"))
    menu.addSeparator()
    if qt_available():
        # Registered by name: the panel module (and Qt) is imported only when the artist opens the panel.
        nukescripts.panels.registerWidgetAsPanel(PANEL_CLASS, "ShotBridge", PANEL_ID, True)
    else:
        menu.addCommand("ShotBridge panel (needs qtpy)", command("explain_missing_qt"))
        nuke.tprint("ShotBridge: qtpy is not importable in Nuke's Python; the panel is off, the menu works.")
