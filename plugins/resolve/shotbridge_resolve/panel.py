"""The ShotBridge window in Resolve: the shared panel, bound to Resolve, with a row choosing what "selected"
means (Resolve's scripting API has no selected timeline items).

Every view-model event reaches this window's thread through a MainThreadQueue drained by a QTimer, and only
this thread calls Resolve (dispatch.py); the network runs on the view model's worker threads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy import QtCore, QtWidgets

from .dispatch import MainThreadQueue
from .host import ResolveHost
from .items import video_items
from .selection import MARKER_COLORS, MODES, Selection
from .session import ResolveStateError

if TYPE_CHECKING:
    from fusionscript import Resolve


def backend_project(name: str) -> str:
    """The ShotBridge project named after the Resolve project (letters, digits, space, _ . - only)."""
    cleaned = re.sub(r"[^A-Za-z0-9 _.\-]+", "_", name or "").strip(" _.-")[:200]
    return cleaned if cleaned and cleaned[0].isalnum() else "default"


class ResolvePanel(QtWidgets.QWidget):
    """The shared ShotBridgePanel plus Resolve's selection row and a status line."""

    def __init__(self, host: ResolveHost, client_factory: Callable[[], Any] | None = None,
                 project: str | None = None, parent=None):
        super().__init__(parent)
        from shotbridge.panel.qt_view import ShotBridgePanel
        from shotbridge.panel.viewmodel import PanelViewModel

        if client_factory is None:
            from shotbridge.client import Client

            client_factory = Client
        self.host = host
        self.queue = MainThreadQueue()
        self.view_model = PanelViewModel(client_factory, dispatch=self.queue, host=host,
                                         project=project or self._project_name())
        self.core = ShotBridgePanel(self.view_model, parent=self)
        # The core view dispatches through its own Qt signal; here events go through the queue this thread
        # drains, the one path that is known to stay on the thread that may call Resolve.
        self.view_model.dispatch = self.queue
        self.timer = self.queue.start_timer()
        self.view_model.subscribe(self._refresh)
        self._build()
        self._refresh("all")

    def _project_name(self) -> str:
        if os.environ.get("SHOTBRIDGE_PROJECT"):
            return os.environ["SHOTBRIDGE_PROJECT"]
        try:
            return backend_project(str(self.host.session.project().GetName()))
        except ResolveStateError:
            return "default"

    def _build(self) -> None:
        # The shared panel's look on the whole window (a child widget paints no background of its own).
        self.setAttribute(QtCore.Qt.WA_StyledBackground, True)
        self.setStyleSheet(self.core.styleSheet())
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(8, 6, 8, 0)
        row.addWidget(QtWidgets.QLabel("Take"))
        self.mode = QtWidgets.QComboBox()
        for key, text in MODES.items():
            self.mode.addItem(text, key)
        self.color = QtWidgets.QComboBox()
        self.color.addItems(MARKER_COLORS)
        self.color.setCurrentText(self.host.mode.color)
        self.track = QtWidgets.QSpinBox()
        self.track.setRange(1, 99)
        self.track.setPrefix("V")
        self.track.setValue(self.host.mode.track)
        self.clear = QtWidgets.QPushButton("Clear ShotBridge markers")
        self.clear.setToolTip("Remove ShotBridge's drift markers from the chosen clips (your own markers stay)")
        for widget in (self.mode, self.color, self.track):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.clear)
        self.mode.setCurrentIndex(list(MODES).index(self.host.mode.mode))
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.color.currentTextChanged.connect(self._mode_changed)
        self.track.valueChanged.connect(self._mode_changed)
        self.clear.clicked.connect(self.clear_markers)
        self.status = QtWidgets.QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #8a8a8a; padding: 0 8px;")
        layout.addWidget(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.core, 1)
        self._mode_changed()

    def _mode_changed(self, *_: object) -> None:
        mode = self.mode.currentData()
        self.host.mode = Selection(mode=mode, color=self.color.currentText(), track=self.track.value())
        self.color.setVisible(mode == "marker")
        self.track.setVisible(mode == "track")
        self.clear.setEnabled(mode != "media_pool")

    def clear_markers(self) -> None:
        from .apply import clear_findings
        from .selection import pick

        try:
            timeline = self.host.session.timeline()
            chosen = pick(timeline, video_items(timeline), self.host.mode)
        except ResolveStateError as exc:
            self.host.message = str(exc)
        else:
            removed = sum(clear_findings(info) for info in chosen)
            self.host.message = f"Removed {removed} ShotBridge marker(s) from {len(chosen)} clip(s)."
        self._refresh("message")

    def _refresh(self, topic: str) -> None:
        try:
            timeline = self.host.session.timeline()
            where = f"Timeline: {timeline.GetName()}"
        except ResolveStateError as exc:
            where = str(exc)
        self.status.setText(where + (f"\n{self.host.message}" if self.host.message else ""))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.timer.stop()
        self.view_model.close()
        super().closeEvent(event)


def run(resolve: Resolve) -> int:
    """Open the ShotBridge window on `resolve` and run its event loop until it is closed."""
    from shotbridge.panel.qt_look import enable_high_dpi

    enable_high_dpi()  # Resolve runs this script in its own Python: the window scales with the screen
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["ShotBridge"])
    panel = ResolvePanel(ResolveHost(resolve))
    panel.setWindowTitle("ShotBridge for DaVinci Resolve")
    panel.resize(560, 760)
    panel.show()
    QtCore.QTimer.singleShot(0, panel.view_model.connect)
    code = app.exec()
    panel.timer.stop()
    panel.view_model.close()
    return int(code)
