"""The Qt panel offscreen: its main states, saved as screenshots to look at, and a GUI thread that never
waits on the network."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

from qtpy import QtCore, QtWidgets  # noqa: E402

from shotbridge.models import JobStatus  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel, Take  # noqa: E402

SHOTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "test-output" / "panel-screenshots"


def shoot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def pump(qtbot, predicate, timeout=20000):
    qtbot.waitUntil(predicate, timeout=timeout)


def test_panel_states_screenshots(qtbot, client_factory, project_name, tmp_path):
    import opentimelineio as otio

    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "reel.mp4", seconds_per_shot=1.0, size=(320, 180))
    cut = otio.schema.Timeline(name="reel")
    cut.tracks.append(otio.schema.Track(name="V1"))
    cut.tracks[0].append(otio.schema.Clip(name="reel", media_reference=otio.schema.ExternalReference(str(movie))))
    vm = PanelViewModel(client_factory, host=FileHost(cut), project=project_name)
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(520, 640)
    panel.show()
    shoot(panel, "1-disconnected")
    vm.connect()
    pump(qtbot, lambda: vm.state.connection == "connected")
    vm.select_operation("detect_shots")
    vm.take_selection_from_host()
    qtbot.wait(50)
    assert panel.ops.currentText() == "Detect shots" and "reel" in panel.selection_label.text()
    assert panel.form.rowCount() >= 4
    shoot(panel, "2-connected-form")
    vm.select_operation("echo")
    vm.set_value("seconds", 3)
    vm.run()
    pump(qtbot, lambda: any(j.status == JobStatus.running and j.progress > 0.1 for j in vm.state.jobs.values()))
    panel.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    assert panel.jobs.topLevelItemCount() >= 1
    shoot(panel, "3-job-running")
    vm.select_operation("detect_shots")
    vm.run()
    pump(qtbot, lambda: sum(j.status == JobStatus.succeeded for j in vm.state.jobs.values()) >= 2)
    pump(qtbot, lambda: bool(vm.state.results))
    vm.state.takes.append(Take("reel", "gen_v001", "/gen/reel_v001.mov"))
    vm._changed("takes")
    panel.tabs.setCurrentIndex(2)
    qtbot.wait(50)
    assert panel.results.count() >= 2
    assert any(r.thumbnail is not None for r in vm.state.results), "the contact sheet shows as a thumbnail"
    pump(qtbot, lambda: any(not panel.results.item(i).icon().isNull() for i in range(panel.results.count())))
    shoot(panel, "4-results")
    panel.tabs.setCurrentIndex(3)
    qtbot.wait(50)
    shoot(panel, "5-characters")
    panel.tabs.setCurrentIndex(0)
    vm.select_operation("inpaint")  # a mask is picked from disk, not taken from the selection
    qtbot.wait(50)
    browse = [b for b in panel.findChildren(QtWidgets.QPushButton) if b.text() == "Browse..." and b.isVisible()]
    assert len(browse) == 1
    shoot(panel, "7-inpaint-form")
    print(f"\npanel screenshots: {SHOTS}")
    vm.close()


@pytest.fixture
def slow_backend():
    """A backend that takes 2 s to answer anything."""

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(2.0)
            body = b'{"status":"ok","version":"slow","operations":0,"providers":0}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_gui_thread_never_waits_on_the_network(qtbot, slow_backend):
    from shotbridge.client import Client

    vm = PanelViewModel(lambda: Client(slow_backend, "t", retries=0), project="p")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    started = time.monotonic()
    vm.connect()  # the slow backend holds this for 2 s+: the event loop must keep turning
    qtbot.waitUntil(lambda: time.monotonic() - started > 2.5, timeout=5000)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 100 and max(gaps) < 0.1, f"longest stall {max(gaps):.3f} s"
    vm.close()


def test_standalone_window_opens_a_cut_and_hands_picked_shots_to_the_panel(qtbot, tmp_path):
    from pathlib import Path

    from shotbridge.panel.app import PanelWindow

    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "edl" / "pycmx_cdl_example01.edl"
    if not corpus.exists():
        pytest.skip("../shared/corpus is not beside the checkout")
    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    window = PanelWindow(vm, corpus)
    qtbot.addWidget(window)
    assert window.shots.count() == 39 and vm.state.selection is window.host.timeline
    rows = window.shots.model.rows
    window.shots.select_names([rows[0].name, rows[2].name])
    picked = [c.name for c in vm.state.selection.find_clips()]
    assert picked == [rows[0].name, rows[2].name]
    out = tmp_path / "saved.otio"
    from shotbridge.exchange import io

    io.write(window.host.timeline, out)
    assert len(io.read(out).timeline.find_clips()) == 39
    window.resize(900, 600)
    shoot(window, "6-standalone-window")
    vm.close()
