"""The standalone panel as a real X11 window (Qt's xcb platform) on an Xvfb display, connected to a real
backend, photographed from the desktop by a second process. `make desktop` installs Xvfb and the libraries
Qt's xcb plugin needs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

from test_qt_panel import SHOTS  # noqa: E402

from shotbridge.panel.look import palette_for  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "edl" / "pycmx_cdl_example01.edl"
GRAB = """
import sys
from qtpy import QtGui
app = QtGui.QGuiApplication(sys.argv[:1])
sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 3)
"""


def _needs_xvfb() -> None:
    if shutil.which("Xvfb") and shutil.which("xwininfo"):
        return
    can_install = os.geteuid() == 0 and shutil.which("apt-get")
    if not can_install:
        pytest.skip("Xvfb is not installed and cannot be here (needs root and apt-get): install the packages "
                    "`make desktop` lists to run this test")
    pytest.fail("Xvfb or xwininfo is missing: run `make desktop` (installs xvfb, x11-utils and Qt's xcb libraries)")


@pytest.fixture
def display():
    """A fresh Xvfb display; Xvfb picks a free number itself and writes it to a pipe (-displayfd)."""
    _needs_xvfb()
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail(f"Xvfb did not start: {xvfb.stderr.read().decode(errors='replace')[-500:]}")
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(10)


def _mapped(env: dict, title: str) -> bool:
    out = subprocess.run(["xwininfo", "-name", title], env=env, capture_output=True, text=True)
    return "Map State: IsViewable" in out.stdout


def _share(image, colour: str, tolerance: int = 10) -> float:
    """The share of the image's pixels within `tolerance` of `colour` (sampled on a grid: it is a census)."""
    from qtpy import QtGui

    want = QtGui.QColor(colour)
    hits = total = 0
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            total += 1
            hits += (abs(c.red() - want.red()) <= tolerance and abs(c.green() - want.green()) <= tolerance
                     and abs(c.blue() - want.blue()) <= tolerance)
    return hits / total


def test_the_standalone_panel_as_a_real_window_under_xvfb(display, backend, tmp_path):
    from qtpy import QtGui

    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the checkout")
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "SHOTBRIDGE_URL": backend.url,
           "SHOTBRIDGE_TOKEN": (backend.root / "config" / "token").read_text().strip(),
           "SHOTBRIDGE_PROJECT": "xvfb", "SHOTBRIDGE_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("WAYLAND_DISPLAY", None)
    log = tmp_path / "panel.log"
    with open(log, "wb") as out:
        panel = subprocess.Popen([sys.executable, "-m", "shotbridge.cli", "panel", str(CORPUS)], env=env,
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _mapped(env, "ShotBridge"):
            assert panel.poll() is None, f"the panel exited with {panel.returncode}: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the window was never mapped"
            time.sleep(0.2)
        look = palette_for("standalone")
        shot = SHOTS / "xvfb-standalone-desktop.png"
        SHOTS.mkdir(parents=True, exist_ok=True)
        while True:  # until the window is drawn and connected (the status dot turns green)
            grab = subprocess.run([sys.executable, "-c", GRAB, str(shot)], env=env, capture_output=True, text=True,
                                  timeout=60)
            assert grab.returncode == 0, f"grabbing the desktop failed: {grab.stderr[-1500:]}"
            image = QtGui.QImage(str(shot))
            if _share(image, look.window, 2) > 0.2 and _share(image, "#5fbf60", 20) > 0:
                break
            assert time.monotonic() < deadline, f"the panel never showed connected; see {shot}"
            time.sleep(0.5)
        assert image.width() == 1280 and image.height() == 800, "the whole desktop"
        assert _share(image, look.accent, 24) > 0.0005, "ShotBridge's accent (title, current tab) is on screen"
        assert _share(image, look.text, 24) > 0.001, "text is drawn"
        panel.send_signal(signal.SIGTERM)  # as a session ends it: the window closes the normal way
        assert panel.wait(20) == 0, log.read_text()[-2000:]
        assert "Traceback" not in log.read_text()
    finally:
        if panel.poll() is None:
            panel.kill()
            panel.wait()
