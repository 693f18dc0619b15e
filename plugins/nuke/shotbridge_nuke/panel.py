"""The dockable panel: a thin Qt widget hosting the shared ShotBridge panel, bound to Nuke.

Nuke imports this module (by the name given to registerWidgetAsPanel) only when the artist opens the
panel, so Qt is never loaded in `nuke -t` or on the farm.
"""

from __future__ import annotations

from qtpy import QtWidgets

from .dispatch import main_thread_dispatcher


class ShotBridgePanel(QtWidgets.QWidget):
    """Hosts the core's Qt panel when it can be imported, else says what is missing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view_model = None
        try:
            from shotbridge.client import Client
            from shotbridge.panel.qt_view import ShotBridgePanel as CorePanel
            from shotbridge.panel.viewmodel import PanelViewModel

            from .host import NukeHost
        except ImportError as exc:  # e.g. pydantic or requests not installed for Nuke's Python
            layout.addWidget(QtWidgets.QLabel(f"ShotBridge's panel cannot load here ({exc}); check that the "
                                              "ShotBridge core and its packages are on Nuke's Python path."))
            return
        self.view_model = PanelViewModel(Client, dispatch=main_thread_dispatcher, host=NukeHost())
        self.core = CorePanel(self.view_model, parent=self)
        # The core view routes events through a Qt signal; in Nuke they go through executeInMainThread, the
        # one way Nuke promises is safe from worker threads.
        self.view_model.dispatch = main_thread_dispatcher
        layout.addWidget(self.core)
