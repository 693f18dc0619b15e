"""The ShotBridge window in Resolve, offscreen: the shared panel bound to the Resolve host, its selection row,
events arriving through the queue the GUI thread drains, and a real job's result landing in Resolve.
Screenshots go to test-output/resolve-screenshots/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
pytest.importorskip("qtpy")

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "resolve-screenshots"


def shoot(widget, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


class _Unreachable:
    """A client factory for a panel that is never connected in this test."""

    def __call__(self):
        raise AssertionError("the panel must not connect on its own")


def test_the_panel_opens_bound_to_resolve(qtbot, edit):
    from shotbridge_resolve.host import ResolveHost
    from shotbridge_resolve.panel import ResolvePanel

    host = ResolveHost(edit.resolve)
    panel = ResolvePanel(host, client_factory=_Unreachable())
    qtbot.addWidget(panel)
    panel.resize(560, 720)
    panel.show()
    assert panel.view_model.dispatch is panel.queue, "events reach Resolve through the drained queue"
    assert panel.timer.isActive()
    assert panel.view_model.project == "Demo Project", "the ShotBridge project is named after Resolve's"
    panel.core.use_selection.click()  # the shared panel's own button asks the Resolve host
    assert "Selection: 2 shot(s): A001_C002.mov, B001_C004.mov" in panel.core.selection_label.text()
    assert "Timeline: Edit v3" in panel.status.text() and "2 clip(s) from clips under the playhead" in panel.status.text()
    panel.mode.setCurrentIndex(2)  # a whole video track
    panel.track.setValue(1)
    assert host.mode.mode == "track" and host.mode.track == 1 and panel.track.isVisibleTo(panel)
    assert not panel.color.isVisibleTo(panel)
    panel.core.use_selection.click()
    assert "Selection: 3 shot(s)" in panel.core.selection_label.text()
    shoot(panel, "1-resolve-panel-selection")
    panel.mode.setCurrentIndex(1)  # marker colour: nothing carries a Blue marker
    assert panel.color.isVisibleTo(panel)
    panel.core.use_selection.click()
    qtbot.wait(20)
    assert "Selection: none" in panel.core.selection_label.text()
    assert "No clip with media matches clips with a Blue marker" in panel.status.text()
    shoot(panel, "2-resolve-panel-nothing-selected")
    panel.close()


def test_clear_markers_button(qtbot, edit):
    import json

    from shotbridge_resolve.host import ResolveHost
    from shotbridge_resolve.panel import ResolvePanel

    edit.sh010.AddMarker(110, "Red", "drift", "", 1, json.dumps({"shotbridge": 1, "key": "k"}))
    edit.sh010.AddMarker(111, "Red", "editor", "", 1, "")
    panel = ResolvePanel(ResolveHost(edit.resolve), client_factory=_Unreachable())
    qtbot.addWidget(panel)
    panel.clear.click()
    assert [m["name"] for m in edit.sh010._markers.values()] == ["editor"]
    assert "Removed 1 ShotBridge marker(s) from 2 clip(s)" in panel.status.text()
    panel.close()


def test_a_job_run_from_the_panel_cuts_a_timeline_in_resolve(qtbot, fake, tmp_path, monkeypatch):
    """Connected to a real backend: detect_shots on a movie selected in the media pool; the job's events and
    its result reach Resolve only through the GUI thread's queue, and the GUI loop keeps turning."""
    pytest.importorskip("shotbridge_backend")
    pytest.importorskip("cv2")
    import time

    from qtpy import QtCore

    from shotbridge.client import Client
    from shotbridge_backend.demo import EmbeddedBackend, sample_movie
    from shotbridge_resolve.host import ResolveHost
    from shotbridge_resolve.panel import ResolvePanel
    from shotbridge_resolve.selection import Selection

    movie = sample_movie(tmp_path / "flattened_reel.mp4", seconds_per_shot=1.0, size=(320, 180))
    resolve = fake.new_resolve()
    fake.register_media(str(movie), 96)
    project = resolve.GetProjectManager().GetCurrentProject()
    pool = project.GetMediaPool()
    pool._selected = pool.ImportMedia([str(movie)])
    backend = EmbeddedBackend(tmp_path / "backend")
    backend.start()
    token = (backend.root / "config" / "token").read_text().strip()
    monkeypatch.setenv("SHOTBRIDGE_PROJECT", "resolve-panel")
    try:
        panel = ResolvePanel(ResolveHost(resolve, Selection("media_pool")),
                             client_factory=lambda: Client(backend.url, token, cache_dir=tmp_path / "cache"))
        qtbot.addWidget(panel)
        panel.resize(560, 760)
        panel.show()
        vm = panel.view_model
        gaps, last = [], [time.monotonic()]

        def tick():
            now = time.monotonic()
            gaps.append(now - last[0])
            last[0] = now

        beat = QtCore.QTimer()
        beat.timeout.connect(tick)
        beat.start(10)
        vm.connect()
        qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=30000)
        vm.select_operation("detect_shots")
        vm.take_selection_from_host()
        assert "flattened_reel.mp4" in panel.core.selection_label.text()
        assert vm.run()
        qtbot.waitUntil(lambda: any(t.GetName().endswith("(ShotBridge cuts)") for t in project._timelines),
                        timeout=60000)
        beat.stop()
        timeline = project.GetCurrentTimeline()
        items = timeline.GetItemListInTrack("video", 1)
        assert len(items) == 4 and items[-1].GetEnd(False) == 86400 + 96
        qtbot.waitUntil(lambda: "4 of 4 shot(s)" in vm.state.message, timeout=5000)
        assert max(gaps) < 0.5, f"the GUI thread stalled for {max(gaps):.2f} s"
        panel.core.tabs.setCurrentIndex(2)
        qtbot.wait(50)
        shoot(panel, "3-resolve-panel-cuts-applied")
        panel.close()
    finally:
        backend.stop()
