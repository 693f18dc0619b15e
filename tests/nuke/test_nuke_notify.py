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
