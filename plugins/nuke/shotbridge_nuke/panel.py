"""The dockable panel: the shared ShotBridge panel view, embedded in Nuke through qtpy."""

from __future__ import annotations

from qtpy import QtWidgets


class ShotBridgePanel(QtWidgets.QWidget):
    """Hosts the core's Qt panel when it is installed, else says what is missing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        try:
            from shotbridge.panel.qt_view import ShotBridgePanel as CorePanel  # the shared view
        except ImportError as exc:
            layout.addWidget(QtWidgets.QLabel(f"The ShotBridge panel view is not available here ({exc})."))
            return
        layout.addWidget(CorePanel(parent=self))
