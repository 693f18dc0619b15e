# ShotBridge for DaVinci Resolve: Workspace > Scripts > ShotBridge (Fusion/Scripts/Utility).
# Resolve runs this file in a Python process of its own with a global `app`; `app.GetResolve()` is Resolve.
# It puts the adapter (shotbridge_resolve), the ShotBridge core and any SHOTBRIDGE_PYTHONPATH folders (the
# core's packages installed for Resolve's Python) on sys.path, then opens the ShotBridge window. Run from a
# terminal (`python ShotBridge.py`) it reaches a running Resolve Studio through DaVinciResolveScript instead.
# Nothing here raises into Resolve: every failure is printed to Resolve's console and, with Qt, shown.
import os
import sys

# Written by `shotbridge install resolve` into the installed copy (the original beside the package keeps "").
SHOTBRIDGE_PLUGIN = ""  # the checkout's plugins/resolve
SHOTBRIDGE_PYTHONPATH = ""  # os.pathsep-separated folders holding ShotBridge's packages for Resolve's Python


def _plugin_dir():
    candidates = [os.environ.get("SHOTBRIDGE_RESOLVE_PLUGIN"), SHOTBRIDGE_PLUGIN]
    try:
        candidates.append(os.path.dirname(os.path.abspath(__file__)))
    except NameError:  # some hosts run scripts without __file__
        pass
    for folder in candidates:
        if folder and os.path.isdir(os.path.join(folder, "shotbridge_resolve")):
            return folder
    return None


def _shotbridge_paths(plugin):
    core = os.environ.get("SHOTBRIDGE_CORE") or os.path.normpath(os.path.join(plugin, "..", "..", "core"))
    extra = os.pathsep.join(p for p in (os.environ.get("SHOTBRIDGE_PYTHONPATH"), SHOTBRIDGE_PYTHONPATH) if p)
    return [plugin, core, *[p for p in extra.split(os.pathsep) if p]]


def _tell(text):
    sys.stderr.write(f"ShotBridge: {text}\n")


def main(app=None):
    try:
        plugin = _plugin_dir()
        if plugin is None:
            _tell("cannot find the shotbridge_resolve package next to this script or in SHOTBRIDGE_PLUGIN / "
                  "SHOTBRIDGE_RESOLVE_PLUGIN; run `shotbridge install resolve` again from the ShotBridge checkout.")
            return 1
        for path in _shotbridge_paths(plugin):
            if os.path.isdir(path) and path not in sys.path:
                sys.path.insert(0, path)
        try:
            from shotbridge_resolve.launch import main as launch
        except ImportError as exc:
            _tell(f"the ShotBridge core or one of its packages is missing from Resolve's Python ({exc}). Install "
                  "opentimelineio, pydantic, requests, qtpy and PySide6 for that Python, for example with "
                  "`python3 -m pip install --target DIR ...`, and set SHOTBRIDGE_PYTHONPATH to DIR.")
            return 1
        return launch(app)
    except Exception as exc:  # never into Resolve
        _tell(f"stopped: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__" or "app" in globals():
    main(globals().get("app"))
