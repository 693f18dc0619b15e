"""Only the panel's thread talks to Resolve: worker threads (the job watcher, the view model's network work)
hand their events to a queue that the panel's thread drains."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import opentimelineio as otio
import pytest

from shotbridge.exchange.markers import add_finding
from shotbridge.models import Job, JobStatus
from shotbridge.watcher import JobWatcher
from shotbridge_resolve.dispatch import MainThreadQueue
from shotbridge_resolve.host import ResolveHost
from shotbridge_resolve.selection import Selection
from shotbridge_resolve.session import WrongThread


def drift_result(edit):
    host = ResolveHost(edit.resolve, Selection("track", track=1))
    result = host.selection()
    add_finding(edit.clip_named(result, "A001_C002.mov"), otio.opentime.TimeRange(
        otio.opentime.RationalTime(110, 24), otio.opentime.RationalTime(4, 24)),
        {"kind": "drift", "job_id": "j1", "expected": "a", "found": "b", "frames": [110, 113]})
    return host, result


def test_work_queued_from_a_worker_runs_only_when_the_panel_thread_drains(edit):
    host, result = drift_result(edit)
    queue = MainThreadQueue()
    ran_on = []

    def apply(timeline):
        ran_on.append(threading.current_thread())
        host.apply(timeline)

    worker = threading.Thread(target=queue, args=(apply, result), name="shotbridge-watch-j1")
    worker.start()
    worker.join()
    assert queue.pending() == 1 and not edit.sh010._markers, "queued, not run on the worker"
    assert queue.drain() == 1
    assert ran_on == [threading.current_thread()] and 110.0 in edit.sh010._markers


def test_draining_from_another_thread_is_refused():
    queue = MainThreadQueue()
    errors = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, queue.drain)))
    t.start()
    t.join()
    assert errors and "must run on the thread that owns the panel" in str(errors[0].value)


def test_a_failing_queued_call_does_not_stop_the_next(caplog):
    queue = MainThreadQueue()
    seen = []
    queue(lambda: 1 / 0)
    queue(seen.append, "after")
    assert queue.drain() == 2 and seen == ["after"]
    assert "a queued call failed" in caplog.text


def test_the_host_refuses_a_worker_thread(edit):
    host, result = drift_result(edit)
    errors = []

    def rogue():
        try:
            host.apply(result)
        except WrongThread as exc:
            errors.append(str(exc))

    t = threading.Thread(target=rogue, name="rogue")
    t.start()
    t.join()
    assert errors and "only called from the panel's thread" in errors[0] and not edit.sh010._markers


def test_the_fake_refuses_calls_off_the_panel_thread_too(edit):
    """So the tests above prove something: Resolve calls from a worker fail, whatever makes them."""
    errors = []

    def rogue():
        try:
            edit.timeline.GetItemListInTrack("video", 1)
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=rogue)
    t.start()
    t.join()
    assert errors and "only from the panel's thread" in errors[0]


class _Client:
    """The job watcher's view of the backend: a job that runs and succeeds."""

    def events(self, job_id):
        now = datetime.now(timezone.utc)
        for status, progress in ((JobStatus.running, 0.5), (JobStatus.succeeded, 1.0)):
            yield Job(id=job_id, project_id="p", operation="check_consistency", params={}, provider="local",
                      status=status, progress=progress, created_at=now)


def test_a_job_watcher_applies_results_on_the_panel_thread(edit):
    host, result = drift_result(edit)
    queue = MainThreadQueue()
    panel_thread = threading.current_thread()
    seen = []

    def on_event(job):
        seen.append((job.status.value, threading.current_thread() is panel_thread))
        if job.status == JobStatus.succeeded:
            seen.append(host.apply(result))

    watcher = JobWatcher(_Client(), dispatch=queue)
    watcher.watch("j1", on_event)
    watcher.join(5)
    assert queue.pending() == 2 and not seen, "the watcher's thread only queued"
    queue.drain()
    assert seen[:2] == [("running", True), ("succeeded", True)] and 110.0 in edit.sh010._markers
