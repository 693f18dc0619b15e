"""The dockable panel in Nuke: opened the way Nuke opens it, hosting the shared panel bound to Nuke."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_dock_panel_binds_the_shared_panel_to_nuke(nuke, qtbot):
    import nukescripts

    from shotbridge_nuke import menu
    from shotbridge_nuke.dispatch import main_thread_dispatcher

    menu.install()
    nuke.add("Read", "Read1", selected=True, file="/plates/sh010.mov", first=1, last=24)
    panel = nukescripts.panels.create_widget(menu.PANEL_ID)  # what Nuke does when the artist opens it
    qtbot.addWidget(panel)
    assert panel.view_model.dispatch is main_thread_dispatcher, "events reach Nuke via executeInMainThread"
    panel.view_model.take_selection_from_host()
    assert [c.name for c in panel.view_model.state.selection.find_clips()] == ["Read1"]
    panel.view_model.close()
