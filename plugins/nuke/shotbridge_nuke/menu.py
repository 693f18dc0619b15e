"""The ShotBridge menu and the dockable panel (GUI only; called from menu.py)."""

from __future__ import annotations

import nuke
import nukescripts


def install() -> None:
    menu = nuke.menu("Nuke").addMenu("ShotBridge")
    menu.addCommand("Export selected Reads as OTIO...", "shotbridge_nuke.commands.export_selection()")
    menu.addCommand("Apply results from OTIO...", "shotbridge_nuke.commands.apply_from_file()")
    nukescripts.panels.registerWidgetAsPanel("shotbridge_nuke.panel.ShotBridgePanel", "ShotBridge",
                                             "uk.co.shotbridge.panel", True)
