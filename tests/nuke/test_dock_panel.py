"""The dockable panel in Nuke (needs Qt: skipped in the core-only Python 3.10 run)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_dock_panel_binds_the_shared_panel_to_nuke(nuke, qtbot):
    from shotbridge_nuke.panel import ShotBridgePanel

    nuke.add("Read", "Read1", selected=True, file="/plates/sh010.mov", first=1, last=24)
    panel = ShotBridgePanel()
    qtbot.addWidget(panel)
    panel.view_model.take_selection_from_host()
    assert [c.name for c in panel.view_model.state.selection.find_clips()] == ["Read1"]
    panel.view_model.close()
