"""`shotbridge panel`: the panel as a standalone window working on timeline files.

Also how Resolve free-edition users work: export the timeline from Resolve (File > Export > Timeline, OTIO
or EDL), open it here, run operations, save, and import the result back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from qtpy import QtCore, QtWidgets

from ..exchange import io, untrusted
from ..exchange.errors import RateNeeded
from ..exchange.shots import as_timeline
from .host import FileHost
from .look import PALETTES
from .qt_look import enable_high_dpi
from .qt_shots import ShotsView
from .qt_view import ShotBridgePanel
from .viewmodel import PanelViewModel

RATES = ["23.976", "24", "25", "29.97", "30", "47.952", "48", "50", "59.94", "60"]


class PanelWindow(QtWidgets.QMainWindow):
    def __init__(self, view_model: PanelViewModel, path: Path | None = None, rate: float | None = None):
        super().__init__()
        self.rate = rate  # for EDLs, which may not say their frame rate (also used when saving one)
        self.setWindowTitle("ShotBridge")
        self.resize(1280, 720)
        self.vm = view_model
        self.host: FileHost = view_model.host
        self.path: Path | None = None
        split = QtWidgets.QSplitter()
        left = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(left)
        self.file_label = QtWidgets.QLabel("No timeline open (File > Open)")
        self.file_label.setWordWrap(True)
        box.addWidget(self.file_label)
        self.shots = ShotsView(view_model)
        box.addWidget(self.shots)
        split.addWidget(left)
        self.panel = ShotBridgePanel(view_model, shots_tab=False)
        split.addWidget(self.panel)
        split.setSizes([820, 460])
        self.setCentralWidget(split)
        self.setStyleSheet(self.panel.styleSheet())
        self.host.shows.append(self.show_notice)
        menu = self.menuBar().addMenu("&File")
        menu.addAction("&Open timeline...", self.open_dialog)
        menu.addAction("&Save as...", self.save_dialog)
        menu.addAction("&Compare with earlier cut...", self.compare_dialog)
        menu.addSeparator()
        menu.addAction("&Quit", self.close)
        if path is not None:
            self.open(path)

    def open(self, path: Path) -> None:
        try:
            try:
                result = untrusted.read(path, self.rate)
            except RateNeeded as exc:
                rate = self.ask_rate(str(exc))
                if rate is None:
                    return
                result = untrusted.read(path, rate)
                self.rate = rate
        except (ValueError, OSError) as exc:
            QtWidgets.QMessageBox.warning(self, "ShotBridge", str(exc))
            return
        self.path = Path(path)
        self.host.timeline = as_timeline(result.timeline)
        self.file_label.setText(f"{self.path.name}" + (f"\n{len(result.warnings)} warning(s)" if result.warnings else ""))
        if not any(True for _ in self.host.timeline.find_clips()):  # a valid file, but nothing to run on
            self.file_label.setText(f"{self.path.name}\nNo clips in this timeline: open one with shots to run on.")
        self.vm.set_selection(self.host.timeline)
        self.vm.show_shots(self.host.timeline, base_dir=self.path.parent)

    def show_notice(self, text: str, level: str = "info") -> None:
        """A finished job, in the window's status bar (an error stays until the next notice)."""
        prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
        self.statusBar().showMessage(prefix + text, 0 if level == "error" else 10000)

    def ask_rate(self, why: str) -> float | None:
        """An EDL that cannot tell its frame rate: the editor knows it (it is the timeline's in Resolve)."""
        text, ok = QtWidgets.QInputDialog.getItem(self, "Frame rate", f"{why}\n\nThe timeline's frame rate:",
                                                  RATES, RATES.index("24"), True)
        if not ok:
            return None
        rate = io.rate_arg(text)
        if not rate or rate <= 0:
            QtWidgets.QMessageBox.warning(self, "ShotBridge", f"'{text}' is not a frame rate; try 24 or 23.976.")
            return None
        return rate

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open timeline", "", "Timelines (*.otio *.otioz *.edl *.xml *.fcpxml *.aaf *.ale)")
        if path:
            self.open(Path(path))

    def compare_dialog(self) -> None:
        """Shots the recut from an earlier cut made stale get the stale badge."""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Earlier cut", "", "Timelines (*.otio *.otioz *.edl *.xml *.fcpxml *.aaf *.ale)")
        if path:
            try:
                earlier = as_timeline(untrusted.read(Path(path), self.rate).timeline)
            except (ValueError, OSError) as exc:
                QtWidgets.QMessageBox.warning(self, "ShotBridge", str(exc))
                return
            self.vm.compare_with(earlier)

    def save_dialog(self) -> None:
        if self.host.timeline is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save timeline", "", "OTIO (*.otio);;EDL (*.edl)")
        if path:
            try:
                warnings = io.write(self.host.timeline, path, rate=self.rate)
            except (ValueError, OSError) as exc:  # a format that cannot hold the cut, a read-only folder
                QtWidgets.QMessageBox.warning(self, "ShotBridge", f"Not saved: {exc}")
                return
            if warnings:
                QtWidgets.QMessageBox.information(self, "ShotBridge", "\n".join(warnings))


def main(argv: list[str] | None = None) -> int:
    import argparse

    from ..client import Client

    parser = argparse.ArgumentParser(prog="shotbridge panel")
    parser.add_argument("timeline", nargs="?")
    parser.add_argument("--rate")
    parser.add_argument("--look", choices=sorted(PALETTES), default=os.environ.get("SHOTBRIDGE_LOOK") or None,
                        help="the colours of a host to sit beside (default: ShotBridge's own)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    enable_high_dpi()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    project = os.environ.get("SHOTBRIDGE_PROJECT") or "default"
    vm = PanelViewModel(Client, host=FileHost(look=args.look), project=project)
    window = PanelWindow(vm, Path(args.timeline) if args.timeline else None, io.rate_arg(args.rate))
    window.show()
    QtCore.QTimer.singleShot(0, vm.connect)
    _quit_on_signals(app)
    code = app.exec()
    vm.close()
    return code


def _quit_on_signals(app: QtWidgets.QApplication) -> None:
    """Ctrl-C in the terminal (or a TERM from a session manager) closes the window the normal way. Python runs
    signal handlers only between bytecodes, so a timer lets the interpreter look while Qt's loop runs."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.closeAllWindows())
    app._signal_timer = timer = QtCore.QTimer()  # kept on the app: a timer with no owner would be collected
    timer.timeout.connect(lambda: None)
    timer.start(200)
