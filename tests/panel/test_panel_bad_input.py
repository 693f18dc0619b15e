"""Bad input the panel must survive with a clear message, never a traceback or a frozen window: a backend
that goes away mid-job, a job state this panel cannot read, a timeline with no clips, a result whose
download fails."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

import opentimelineio as otio  # noqa: E402
from qtpy import QtCore  # noqa: E402
from test_qt_panel import shoot  # noqa: E402

from shotbridge.client import Client  # noqa: E402
from shotbridge.models import JobStatus  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_jobs import MESSAGE, STATUS  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402
from shotbridge.watcher import JobWatcher  # noqa: E402
from shotbridge_backend.demo import EmbeddedBackend  # noqa: E402


class Ticks:
    """Counts the GUI thread's timer ticks: a frozen panel stops counting."""

    def __init__(self):
        self.times: list[float] = []
        self.timer = QtCore.QTimer()
        self.timer.timeout.connect(lambda: self.times.append(time.monotonic()))
        self.timer.start(10)

    def longest_gap(self) -> float:
        self.timer.stop()
        return max(b - a for a, b in zip(self.times, self.times[1:], strict=False))


def panel_for(qtbot, vm: PanelViewModel, tab: int = 1) -> ShotBridgePanel:
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(720, 600)
    panel.show()
    panel.tabs.setCurrentIndex(tab)
    return panel


def test_a_backend_that_goes_away_mid_job(qtbot, tmp_path):
    backend = EmbeddedBackend(tmp_path / "backend")
    backend.start()
    token = (backend.root / "config" / "token").read_text().strip()
    vm = PanelViewModel(lambda: Client(backend.url, token, cache_dir=tmp_path / "cache"), project="gone")
    panel = panel_for(qtbot, vm)
    try:
        vm.connect()
        qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
        vm.select_operation("echo")
        vm.set_value("seconds", 4)
        vm.run()
        qtbot.waitUntil(lambda: any(j.status == JobStatus.running for j in vm.state.jobs.values()), timeout=20000)
        job_id = next(iter(vm.state.jobs))
        ticks = Ticks()
        backend.kill()  # as a crash: no goodbye on the event stream
        qtbot.waitUntil(lambda: job_id in vm.state.job_lost, timeout=60000)
        assert ticks.longest_gap() < 0.25, "the panel kept drawing while the client retried"
        item = panel.job_list._items[job_id]
        assert item.text(STATUS) == "lost" and "Cannot reach the ShotBridge backend" in item.text(MESSAGE)
        assert vm.state.connection == "error" and "Select it and Retry" in vm.state.message
        assert panel.job_list._drawn[job_id].can_retry and not panel.job_list._drawn[job_id].can_cancel
        item.setSelected(True)
        shoot(panel, "bad-input-backend-gone-mid-job")

        backend.start()  # the same data: the backend re-queues or resumes the job
        panel.job_list.retry_button.click()  # for a lost job: look it up again and follow it
        qtbot.waitUntil(lambda: vm.state.jobs[job_id].status.terminal, timeout=60000)
        assert job_id not in vm.state.job_lost and item.text(STATUS) == vm.state.jobs[job_id].status.value
    finally:
        vm.close()
        backend.stop()


@pytest.fixture
def newer_backend():
    """Stands in for a newer backend, which no real backend here is: it reports a status this core lacks."""
    job = {"id": "j-new", "project_id": "p", "operation": "generate", "params": {}, "provider": "local",
           "status": "paused", "progress": 0.5, "created_at": "2026-01-01T00:00:00Z"}

    class Newer(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.endswith("/events"):
                body, kind = f"data: {json.dumps(job)}\n\n".encode(), "text/event-stream"
            else:
                body, kind = json.dumps(job).encode(), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Newer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", job
    server.shutdown()


def test_a_job_event_with_an_unknown_status(qtbot, newer_backend):
    from shotbridge.models import Job

    url, raw = newer_backend
    vm = PanelViewModel(lambda: None, project="p")
    panel = panel_for(qtbot, vm)
    vm.client = Client(url, "t", retries=0)
    vm._watcher = JobWatcher(vm.client, vm.dispatch)
    vm._track(Job.model_validate({**raw, "status": "running"}), ["sh010"])
    qtbot.waitUntil(lambda: "j-new" in vm.state.job_lost, timeout=10000)
    text = vm.state.job_lost["j-new"]
    assert "cannot read" in text and "'paused'" in text and "Update ShotBridge" in text
    qtbot.waitUntil(lambda: "j-new" in panel.job_list._items)  # job rows are redrawn at most every 25 ms
    assert panel.job_list._items["j-new"].text(STATUS) == "lost"
    vm.close()


def test_a_timeline_with_no_clips(qtbot, client_factory, project_name, tmp_path):
    from shotbridge.panel.app import PanelWindow

    empty = tmp_path / "empty_cut.otio"
    timeline = otio.schema.Timeline(name="empty cut")
    timeline.tracks.append(otio.schema.Track(name="V1"))
    otio.adapters.write_to_file(timeline, str(empty))
    vm = PanelViewModel(client_factory, host=FileHost(), project=project_name)
    window = PanelWindow(vm, empty)
    qtbot.addWidget(window)
    window.resize(900, 560)
    window.show()
    assert window.shots.count() == 0 and "No clips in this timeline" in window.file_label.text()
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
    vm.select_operation("detect_shots")
    assert not vm.run(), "nothing is submitted for an empty cut"
    assert "has no clips" in vm.state.errors["media"] and not vm.state.jobs
    qtbot.wait(50)
    shoot(window, "bad-input-timeline-with-no-clips")
    vm.close()


def test_a_result_whose_download_fails(qtbot, backend, client_factory, project_name, tmp_path):
    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "reel.mp4", seconds_per_shot=0.5, size=(160, 90))
    client = client_factory()
    project = client.ensure_project(project_name)
    media = client.upload(project.id, movie).sha256
    done = client.wait(client.submit(project.id, "detect_shots", {"media": media}).id)
    assert done.status == JobStatus.succeeded and done.outputs
    stored = [backend.root / "data" / "assets" / o.sha256[:2] / o.sha256 for o in done.outputs]
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in stored:  # the backend lost its copies (a full disk, a cleanup gone wrong)
        shutil.move(path, aside / path.name)

    vm = PanelViewModel(client_factory, host=FileHost(), project=project_name)
    panel = panel_for(qtbot, vm)
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
    vm.state.jobs[done.id] = done.model_copy(update={"status": JobStatus.running})
    vm.dispatch(vm._on_event, done)  # the event that says it finished
    qtbot.waitUntil(lambda: "could not be downloaded" in vm.state.message, timeout=30000)
    assert "Fetch results" in vm.state.message and not vm.state.results
    assert panel.message.text() == vm.state.message
    assert panel.job_list._items[done.id].text(STATUS) == "succeeded"
    panel.job_list._items[done.id].setSelected(True)
    assert panel.job_list.fetch_button.isEnabled()
    shoot(panel, "bad-input-result-download-failed")

    for path in stored:
        shutil.move(aside / path.name, path)
    panel.job_list.fetch_button.click()
    qtbot.waitUntil(lambda: len(vm.state.results) == len(done.outputs), timeout=30000)
    panel.job_list.fetch_button.click()  # fetched twice: still one result per output
    qtbot.wait(500)
    qtbot.waitUntil(lambda: len(vm.state.results) == len(done.outputs), timeout=30000)
    assert Path(vm.state.results[0].path).is_file()
    vm.close()
