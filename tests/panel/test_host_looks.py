"""The panel in each host's colours (Nuke, Resolve, Blender, standalone) and at twice the pixel density.
Screenshots: look-<host>-jobs.png, look-standalone-hidpi-2x.png."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

from qtpy import QtGui  # noqa: E402
from test_qt_panel import SHOTS, shoot  # noqa: E402

from shotbridge.models import Job, JobStatus, Problem  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.look import PALETTES, palette_for, style_sheet  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402


def some_jobs(vm: PanelViewModel) -> None:
    now = datetime.now(timezone.utc)
    rows = [("j3", "generate", JobStatus.running, 0.62, "denoising", ["sh030", "sh040"]),
            ("j2", "check_consistency", JobStatus.failed, 0.3, "",  ["sh010", "sh020", "sh030", "sh040"]),
            ("j1", "detect_shots", JobStatus.succeeded, 1.0, "38 shots", ["reel"]),
            ("j0", "match_look", JobStatus.canceled, 0.1, "canceled", ["sh050"])]
    for job_id, op, status, progress, message, shots in rows:
        vm.state.jobs[job_id] = Job(
            id=job_id, project_id="p", operation=op, params={}, provider="local", status=status,
            progress=progress, message=message, created_at=now - timedelta(minutes=3),
            started_at=now - timedelta(seconds=95), finished_at=now if status.terminal else None,
            error=Problem(title="Character not found", status=404, detail="No character 'Mara' in the bible; "
                          "add her reference photos on the Characters tab, then retry.")
            if status == JobStatus.failed else None)
        vm.state.job_shots[job_id] = shots
    vm.state.message = "ShotBridge: detect_shots (reel) finished, 2 output(s)."
    vm._changed("all")


@pytest.mark.parametrize("host", ["nuke", "resolve", "blender", "standalone"])
def test_the_panel_wears_the_hosts_colours(qtbot, host):
    vm = PanelViewModel(lambda: None, host=FileHost(look=host), project="p")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(720, 420)
    panel.show()
    some_jobs(vm)
    panel.tabs.setCurrentIndex(1)
    panel.job_list.tree.topLevelItem(1).setSelected(True)  # the failed one: its error in full below
    qtbot.wait(20)
    look = palette_for(host)
    assert panel.styleSheet() == style_sheet(look)
    image = panel.grab().toImage()
    assert image.pixelColor(2, image.height() // 2) == QtGui.QColor(look.window), "the host's own grey"
    title = panel.findChild(type(panel.message), "title")
    assert title.palette().color(title.foregroundRole()) == QtGui.QColor(look.accent), "the host's accent"
    shoot(panel, f"look-{host}-jobs")
    vm.close()


def test_every_host_has_its_own_palette():
    assert {"nuke", "resolve", "blender", "standalone"} <= set(PALETTES)
    assert palette_for("blender").selection == "#4772b3" and palette_for("blender").window == "#303030"
    assert palette_for("Nuke").accent == "#f0a030" and palette_for("houdini") == palette_for("standalone")


HIDPI = r"""
import sys
from qtpy import QtWidgets
from shotbridge.panel.qt_look import enable_high_dpi
from shotbridge.panel.qt_view import ShotBridgePanel
from shotbridge.panel.viewmodel import PanelViewModel
from shotbridge.panel.host import FileHost
assert enable_high_dpi()
app = QtWidgets.QApplication([])
assert not enable_high_dpi(), "an existing application keeps its own scaling"
vm = PanelViewModel(lambda: None, host=FileHost(look="nuke"), project="p")
panel = ShotBridgePanel(vm)
panel.resize(520, 420)
panel.show()
app.processEvents()
pixmap = panel.grab()
print(pixmap.devicePixelRatio(), pixmap.width(), pixmap.height(), panel.width(), panel.height())
pixmap.save(sys.argv[1])
vm.close()
"""


def test_at_twice_the_pixel_density_the_panel_is_drawn_at_twice_the_pixels():
    path = SHOTS / "look-standalone-hidpi-2x.png"
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    done = subprocess.run([sys.executable, "-c", HIDPI, str(path)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    ratio, width, height, logical_w, logical_h = done.stdout.split()
    assert float(ratio) == 2.0 and (int(width), int(height)) == (2 * int(logical_w), 2 * int(logical_h))
