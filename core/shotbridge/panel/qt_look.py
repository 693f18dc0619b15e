"""Qt's side of the host look: high-DPI scaling, set before a QApplication exists."""

from __future__ import annotations

from qtpy import QT6, QtCore, QtWidgets


def enable_high_dpi() -> bool:
    """Scale the panel with the screen (Qt 6 always does; Qt 5, i.e. PySide2 in Nuke 14/15 and standalone
    installs that have it, needs the attributes before the QApplication is made). False when an application
    already exists: the host made it and owns its scaling."""
    if QtWidgets.QApplication.instance() is not None:
        return False
    if not QT6:
        QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_EnableHighDpiScaling, True)
        QtWidgets.QApplication.setAttribute(QtCore.Qt.AA_UseHighDpiPixmaps, True)
    return True
