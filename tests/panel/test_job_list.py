"""The Jobs tab against a real backend: rows updated in place as progress streams, cancel/retry enabled by
status per row and for the selection, a failed job's error in full. Screenshots of each state."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

import opentimelineio as otio  # noqa: E402
from test_qt_panel import shoot  # noqa: E402

from shotbridge.models import Job, JobStatus  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_jobs import ELAPSED, MESSAGE, PROGRESS, PROGRESS_ROLE, SHOTS, STATUS  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402


def cut_of(*clips: tuple[str, str]) -> otio.schema.Timeline:
    cut = otio.schema.Timeline(name="reel")
    cut.tracks.append(otio.schema.Track(name="V1"))
    for name, url in clips:
        rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24))
        cut.tracks[0].append(otio.schema.Clip(name=name, source_range=rng,
                                              media_reference=otio.schema.ExternalReference(url)))
    return cut


def job_of(panel, job_id: str) -> Job:
    return panel.vm.state.jobs[job_id]


def test_job_list_cancel_retry_and_a_failure_in_full(qtbot, client_factory, project_name, tmp_path):
    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "reel.mp4", seconds_per_shot=1.0, size=(160, 90))
    broken = tmp_path / "sh020_plate.mov"
    broken.write_bytes(b"not a movie at all " * 200)  # what a truncated copy from a server looks like
    host = FileHost(cut_of(("sh010", str(movie)), ("sh015", str(movie))))
    vm = PanelViewModel(client_factory, host=host, project=project_name)
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(760, 560)
    panel.show()
    panel.tabs.setCurrentIndex(1)
    jobs = panel.job_list
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)

    vm.take_selection_from_host()
    vm.select_operation("echo")
    vm.set_value("seconds", 20)
    assert vm.run()
    qtbot.waitUntil(lambda: any(j.status == JobStatus.running and j.progress > 0.02 for j in vm.state.jobs.values()),
                    timeout=20000)
    long_id = next(iter(vm.state.jobs))
    item = jobs._items[long_id]
    first = item.data(PROGRESS, PROGRESS_ROLE)[0]
    qtbot.waitUntil(lambda: item.data(PROGRESS, PROGRESS_ROLE)[0] > first + 0.02, timeout=10000)
    assert jobs._items[long_id] is item, "progress rewrites the row; it is never rebuilt"
    assert item.text(SHOTS) == "sh010, sh015" and item.text(STATUS) == "running" and item.text(ELAPSED) != "-"

    host.timeline = cut_of(("sh020", str(broken)))
    vm.take_selection_from_host()
    vm.select_operation("detect_shots")
    assert vm.run()
    qtbot.waitUntil(lambda: any(j.status == JobStatus.failed for j in vm.state.jobs.values()), timeout=30000)
    failed_id = next(k for k, j in vm.state.jobs.items() if j.status == JobStatus.failed)
    failed_item = jobs._items[failed_id]
    full = jobs._drawn[failed_id].error
    assert full and failed_item.toolTip(MESSAGE) == full and failed_item.text(SHOTS) == "sh020"
    assert jobs.tree.indexOfTopLevelItem(failed_item) == 0, "the newest job is on top"

    jobs.tree.clearSelection()
    item.setSelected(True)  # the running job
    assert jobs.cancel_button.isEnabled() and not jobs.retry_button.isEnabled()
    menu = {a.text(): a.isEnabled() for a in jobs.menu_for(item).actions()}
    assert menu == {"Cancel": True, "Retry": False, "Fetch results": False, "Copy error": False}
    shoot(panel, "jobs-running-and-failed")

    failed_item.setSelected(True)  # both: each button acts on the rows it applies to
    assert jobs.cancel_button.isEnabled() and jobs.retry_button.isEnabled()
    assert full in jobs.detail.toPlainText()
    menu = {a.text(): a.isEnabled() for a in jobs.menu_for(failed_item).actions()}
    assert menu == {"Cancel": False, "Retry": True, "Fetch results": False, "Copy error": True}
    jobs.tree.clearSelection()
    item.setSelected(True)
    jobs.cancel_button.click()
    qtbot.waitUntil(lambda: job_of(panel, long_id).status == JobStatus.canceled, timeout=20000)
    qtbot.waitUntil(lambda: jobs.retry_button.isEnabled() and not jobs.cancel_button.isEnabled(), timeout=5000)
    assert item.text(STATUS) == "canceled"
    failed_item.setSelected(False)
    jobs.tree.clearSelection()
    failed_item.setSelected(True)
    qtbot.wait(20)
    shoot(panel, "jobs-failed-error-in-full")

    jobs.tree.clearSelection()
    item.setSelected(True)
    before = set(vm.state.jobs)
    jobs.retry_button.click()  # a canceled job runs again, as a new job on the same shots
    qtbot.waitUntil(lambda: len(vm.state.jobs) == len(before) + 1, timeout=20000)
    new_id = next(k for k in vm.state.jobs if k not in before)
    qtbot.waitUntil(lambda: new_id in jobs._items, timeout=5000)  # the list redraws at most every 25 ms
    assert jobs._items[new_id].text(SHOTS) == "sh010, sh015"
    assert jobs.tree.indexOfTopLevelItem(jobs._items[new_id]) == 0
    vm.cancel(new_id)
    qtbot.waitUntil(lambda: job_of(panel, new_id).status == JobStatus.canceled, timeout=20000)
    vm.close()


def _job(n: int, status: JobStatus, progress: float) -> Job:
    now = datetime.now(timezone.utc)
    return Job(id=f"job{n:02d}", project_id="p", operation="generate", params={}, provider="local", status=status,
               progress=progress, message="rendering", created_at=now, started_at=now)


def test_twenty_jobs_streaming_touch_only_the_rows_that_changed(qtbot):
    """Each progress event rewrites its own row: 20 jobs x 10 events cost 200 row updates, never a rebuild."""
    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(760, 620)
    panel.show()
    panel.tabs.setCurrentIndex(1)
    jobs = panel.job_list
    panel.job_list.clock.stop()  # the elapsed clock would add rows of its own to the count
    for n in range(20):
        vm.state.jobs[f"job{n:02d}"] = _job(n, JobStatus.queued, 0.0)
        vm.state.job_shots[f"job{n:02d}"] = [f"sh{10 * (n + 1):03d}"]
    vm._changed("jobs")
    qtbot.waitUntil(lambda: len(jobs._items) == 20)  # the panel redraws job rows at most every 25 ms
    items = dict(jobs._items)
    assert jobs.updates == 20
    for step in range(1, 11):
        for n in range(20):
            vm._on_event(_job(n, JobStatus.running, step / 10 if step < 10 else 0.95))
        panel._refresh("jobs-now")  # the throttle's redraw, now: each row changed once since the last one
    assert jobs.updates == 20 + 200, "one rewrite per changed row and redraw, for its own row only"
    assert all(jobs._items[k] is items[k] for k in items), "no row was rebuilt"
    assert all(item.data(PROGRESS, PROGRESS_ROLE)[0] == 0.95 for item in items.values())
    vm._changed("jobs")  # nothing changed: nothing is rewritten
    assert jobs.updates == 220
    qtbot.wait(20)
    shoot(panel, "jobs-twenty-streaming")
    vm.close()
