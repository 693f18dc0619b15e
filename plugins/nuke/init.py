# ShotBridge for Nuke: start-up without UI (also runs in `nuke -t` and on the farm).
# Only path work here: the plugin package, the shared core, and any folders named in SHOTBRIDGE_PYTHONPATH
# (ShotBridge's dependencies installed for Nuke's own Python). Menus and the panel are set up in menu.py,
# which only the GUI runs. Nothing here may raise: a broken install must not stop a render.
import os
import sys


def _shotbridge_paths():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
    except NameError:  # some Nukes run init.py without __file__: find ourselves on the plugin path
        here = next((p for p in sys.path if os.path.isdir(os.path.join(p, "shotbridge_nuke"))), "")
    core = os.environ.get("SHOTBRIDGE_CORE") or os.path.normpath(os.path.join(here, "..", "..", "core"))
    extra = [p for p in os.environ.get("SHOTBRIDGE_PYTHONPATH", "").split(os.pathsep) if p]
    return [here, core, *extra]


try:
    for _path in _shotbridge_paths():
        if _path and os.path.isdir(_path) and _path not in sys.path:
            sys.path.append(_path)
except Exception as _exc:  # noqa: BLE001
    sys.stderr.write(f"ShotBridge: init.py could not set paths: {_exc}\n")
