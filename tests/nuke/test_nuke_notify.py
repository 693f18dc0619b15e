"""A finished job is told in Nuke's main-window status bar through Qt, never with the modal nuke.message."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy import QtWidgets  # noqa: E402

from shotbridge.models import Job, JobStatus  # noqa: E402


def job(status: JobStatus) -> Job:
    return Job(id="j1", project_id="p", operation="detect_shots", params={}, provider="local", status=status,
               progress=1.0 if status.terminal else 0.5, created_at=datetime.now(timezone.utc))


@pytest.fixture
def nuke_window(qtbot):
    """A main window as Nuke's meta-object names it, beside a bigger decoy window that is not Nuke's."""
    nuke_class = type("Foundry::UI::DockMainWindow", (QtWidgets.QMainWindow,), {})
    main, decoy = nuke_class(), QtWidgets.QMainWindow()
    for window, size in ((main, (800, 500)), (decoy, (1200, 900))):
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
    return main, decoy


def test_a_finished_job_shows_in_nukes_status_bar(nuke, nuke_window):
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_nuke.host import NukeHost

    main, decoy = nuke_window
    vm = PanelViewModel(lambda: None, host=NukeHost(), project="p")
    vm.state.jobs["j1"] = job(JobStatus.running)
    vm.state.job_shots["j1"] = ["Read1"]
    vm._on_event(job(JobStatus.canceled))
    assert main.statusBar().currentMessage() == "Warning: ShotBridge: detect_shots (Read1) was canceled."
    assert decoy.statusBar().currentMessage() == ""
    assert nuke.messages == [], "nothing modal"
    vm.close()


def test_without_nukes_window_the_largest_visible_main_window_is_used(qtbot):
    from shotbridge_nuke import notify

    small, large = QtWidgets.QMainWindow(), QtWidgets.QMainWindow()
    for window, size in ((small, (300, 200)), (large, (900, 700))):
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
    assert notify.notify("ShotBridge: inpaint finished.") is True
    assert large.statusBar().currentMessage() == "ShotBridge: inpaint finished."
    assert small.statusBar().currentMessage() == ""


def test_screenshot_of_the_dock_panel_in_nukes_window_with_the_notice(nuke, qtbot):
    """What the compositor sees: the panel in Nuke's colours, the notice in the window's status bar."""
    from pathlib import Path

    import nukescripts

    from shotbridge_nuke import menu

    menu.install()
    window = type("Foundry::UI::DockMainWindow", (QtWidgets.QMainWindow,), {})()
    qtbot.addWidget(window)
    panel = nukescripts.panels.create_widget(menu.PANEL_ID)
    window.setCentralWidget(panel)
    window.resize(720, 560)
    window.show()
    vm = panel.view_model
    vm.state.jobs["j1"] = job(JobStatus.running)
    vm.state.job_shots["j1"] = ["Read1", "Read2"]
    vm._on_event(job(JobStatus.succeeded).model_copy(update={"message": "2 takes"}))
    panel.core.tabs.setCurrentIndex(1)
    qtbot.wait(20)
    assert window.statusBar().currentMessage() == "ShotBridge: detect_shots (Read1, Read2) finished."
    out = Path(__file__).resolve().parents[2] / "test-output" / "nuke-screenshots"
    out.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(out / "nuke-dock-panel-status-bar-job-finished.png"))
    vm.close()
