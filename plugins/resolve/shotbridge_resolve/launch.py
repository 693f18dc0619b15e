"""Start ShotBridge on Resolve: from ShotBridge.py (Workspace > Scripts, with Resolve's global `app`) or
from outside Resolve (`python -m shotbridge_resolve`, external scripting). Failures become a message in
Resolve's console (and a dialog when Qt is there); they never raise into Resolve."""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fusionscript import Fusion

QT_MISSING = ("The ShotBridge window needs qtpy and PySide6 (or PySide2) in the Python that DaVinci Resolve uses. "
              "Install them for that Python (for example into a folder named by SHOTBRIDGE_PYTHONPATH) and run "
              "Workspace > Scripts > ShotBridge again. Without scripting, use `shotbridge panel FILE` on a "
              "timeline exported from File > Export.")


def tell(text: str) -> None:
    """Print to Resolve's console, and show a dialog if Qt is importable."""
    print(f"ShotBridge: {text}", file=sys.stderr)
    try:
        from qtpy import QtWidgets
    except Exception:  # no Qt in Resolve's Python: the console line is all we can do
        return
    try:
        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["ShotBridge"])
        QtWidgets.QMessageBox.warning(None, "ShotBridge", text)
        del app
    except Exception:
        pass


def main(app: Fusion | None = None) -> int:
    """Reach Resolve, open the window; 0 when the window closed normally, 1 after a reported failure."""
    try:
        from .loader import LoaderError, connect, from_app

        try:
            resolve = from_app(app) if app is not None else connect()
        except LoaderError as exc:
            tell(str(exc))
            return 1
        try:
            from .panel import run
        except ImportError as exc:
            tell(f"{QT_MISSING} ({exc})")
            return 1
        return run(resolve)
    except Exception as exc:  # whatever went wrong, Resolve keeps running and the editor is told
        traceback.print_exc()
        tell(f"ShotBridge stopped: {type(exc).__name__}: {exc}")
        return 1
