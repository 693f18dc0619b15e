# ShotBridge for Nuke: start-up without UI (also runs in `nuke -t` and on the farm).
# Makes the shared core importable; menus and panels are set up in menu.py, which only the GUI runs.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_core = os.environ.get("SHOTBRIDGE_CORE") or os.path.normpath(os.path.join(_here, "..", "..", "core"))
for _path in (_here, _core):
    if os.path.isdir(_path) and _path not in sys.path:
        sys.path.append(_path)
