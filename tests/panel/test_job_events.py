"""Job events in the view model: a job's end is told once and never undone by a late event."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from shotbridge.models import Job, JobStatus
from shotbridge.panel.host import FileHost
from shotbridge.panel.viewmodel import PanelViewModel

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def job(status: JobStatus, progress: float = 0.0) -> Job:
    return Job(id="j", project_id="p", operation="echo", params={}, provider="local", status=status,
               progress=progress, created_at=datetime.now(timezone.utc))


def test_a_late_running_event_does_not_undo_a_cancel_and_the_end_is_told_once():
    host = FileHost()
    told: list[tuple[str, str]] = []
    host.shows.append(lambda text, level: told.append((level, text)))
    vm = PanelViewModel(lambda: None, host=host, project="p")
    vm.state.jobs["j"] = job(JobStatus.running, 0.2)
    vm.state.job_shots["j"] = ["sh010"]
    vm._update_job(job(JobStatus.canceled, 0.3))  # the answer to Cancel
    vm._on_event(job(JobStatus.running, 0.3))  # the stream's last progress, sent before the cancel landed
    vm._on_event(job(JobStatus.canceled, 0.3))  # the stream's own end
    assert vm.state.jobs["j"].status == JobStatus.canceled
    assert told == [("warning", "ShotBridge: echo (sh010) was canceled.")]
    assert vm.state.message == "ShotBridge: echo (sh010) was canceled."
    vm.close()


def test_a_job_seen_first_in_its_end_state_is_not_announced():
    """Only a job the panel saw before it ended is news; one it meets already ended (no earlier state) is not."""
    host = FileHost()
    told: list = []
    host.shows.append(lambda *a: told.append(a))
    vm = PanelViewModel(lambda: None, host=host, project="p")
    vm._on_event(job(JobStatus.failed))
    assert told == [] and vm.state.jobs["j"].status == JobStatus.failed
    vm.close()


def test_the_standalone_window_shows_a_finished_job_in_its_status_bar(qtbot):
    from shotbridge.panel.app import PanelWindow

    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    window = PanelWindow(vm)
    qtbot.addWidget(window)
    vm.state.jobs["j"] = job(JobStatus.running, 0.5)
    vm._on_event(job(JobStatus.failed))
    assert window.statusBar().currentMessage() == "Error: ShotBridge: echo failed: no reason given"
    vm.close()


def test_a_job_that_ended_between_events_is_told_once_when_the_list_is_refreshed():
    """The backend's job list can be the first to say a job ended (its stream broke, or the list came first):
    the end is still told once and its results fetched."""
    host = FileHost()
    told: list = []
    host.shows.append(lambda text, level: told.append((level, text)))
    vm = PanelViewModel(lambda: None, host=host, project="p")
    fetched: list[str] = []
    vm._background = lambda work, done, topic, **kw: fetched.append(topic)  # no backend: record the fetch
    vm.state.jobs["j"] = job(JobStatus.running, 0.5)
    vm.state.job_shots["j"] = ["sh010"]
    vm._set_jobs([job(JobStatus.succeeded, 1.0)])
    vm._set_jobs([job(JobStatus.succeeded, 1.0)])  # the next refresh: nothing new
    vm._on_event(job(JobStatus.succeeded, 1.0))  # the stream's own end, arriving last
    assert vm.state.jobs["j"].status == JobStatus.succeeded
    assert [level for level, _ in told] == ["info"] and fetched == ["results"]
    vm.close()
