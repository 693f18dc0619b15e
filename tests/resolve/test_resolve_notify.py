"""A finished job in Resolve: its scripting API has no notification call, so the ShotBridge window's own
status line says it (the panel's message line too)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from test_panel import shoot  # noqa: E402

from shotbridge.models import Job, JobStatus  # noqa: E402


def job(status: JobStatus, **extra) -> Job:
    return Job(id="j1", project_id="p", operation="look_match", params={}, provider="local", status=status,
               created_at=datetime.now(timezone.utc), **extra)


def test_a_finished_job_shows_in_the_windows_status_line(qtbot, edit):
    from shotbridge_resolve.host import ResolveHost
    from shotbridge_resolve.panel import ResolvePanel

    host = ResolveHost(edit.resolve)
    panel = ResolvePanel(host, client_factory=lambda: None)
    qtbot.addWidget(panel)
    vm = panel.view_model
    vm.state.jobs["j1"] = job(JobStatus.running, progress=0.7)
    vm.state.job_shots["j1"] = ["A001_C002.mov"]
    vm.dispatch(vm._on_event, job(JobStatus.failed, message="the provider refused the plate"))
    qtbot.waitUntil(lambda: "Error: ShotBridge: look_match (A001_C002.mov) failed" in panel.status.text())
    assert "Timeline: Edit v3" in panel.status.text()
    assert "failed: the provider refused the plate" in panel.core.message.text()
    panel.resize(620, 520)
    panel.show()
    panel.core.tabs.setCurrentIndex(1)
    panel.core.job_list.tree.topLevelItem(0).setSelected(True)
    qtbot.wait(20)
    shoot(panel, "4-resolve-panel-job-failed-notice")
    vm.close()


def test_a_canceled_job_is_a_warning(edit):
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_resolve.host import ResolveHost

    host = ResolveHost(edit.resolve)
    vm = PanelViewModel(lambda: None, host=host, project="p")
    vm.state.jobs["j1"] = job(JobStatus.running)
    vm._on_event(job(JobStatus.canceled))
    assert host.message == "Warning: ShotBridge: look_match was canceled."
    vm.close()
