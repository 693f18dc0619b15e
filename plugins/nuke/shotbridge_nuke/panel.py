"""The dockable panel: the shared ShotBridge panel, bound to Nuke's selection and node graph."""

from __future__ import annotations

from qtpy import QtWidgets


class NukeHost:
    """The panel's host in Nuke: selected Reads out, results in as nodes (Qt's thread is Nuke's main one)."""

    name = "nuke"

    def selection(self):
        from . import host

        try:
            return host.selection_to_timeline()
        except ValueError:
            return None

    def apply(self, timeline) -> list[str]:
        from .apply import apply_timeline

        return apply_timeline(timeline)


class ShotBridgePanel(QtWidgets.QWidget):
    """Hosts the core's Qt panel when it can be imported, else says what is missing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        try:
            from shotbridge.client import Client
            from shotbridge.panel.qt_view import ShotBridgePanel as CorePanel
            from shotbridge.panel.viewmodel import PanelViewModel
        except ImportError as exc:
            layout.addWidget(QtWidgets.QLabel(f"ShotBridge's panel cannot load here ({exc}); check that the "
                                              "ShotBridge core and its packages are on Nuke's Python path."))
            return
        self.view_model = PanelViewModel(Client, host=NukeHost())
        layout.addWidget(CorePanel(self.view_model, parent=self))
