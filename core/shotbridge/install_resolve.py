"""`shotbridge install resolve`: ShotBridge.py into the user's Fusion/Scripts/Utility folder.

Resolve lists every script in Fusion/Scripts/{Utility,Comp,Edit,Color,Deliver} (system-wide and per user)
under Workspace > Scripts; Utility scripts show on every page. The per-user folder, as Resolve's scripting
README gives it:

    macOS    ~/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility
    Windows  %APPDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Fusion\\Scripts\\Utility
    Linux    ~/.local/share/DaVinciResolve/Fusion/Scripts/Utility

Only ShotBridge.py is copied (a package in that folder would show up as menu entries), with this checkout's
plugins/resolve written into it so it finds shotbridge_resolve and the core. Installing again rewrites it
only if something changed; uninstall removes it only if it is ShotBridge's.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .install import InstallError, plugin_dir

SCRIPT = "ShotBridge.py"
MARK = "# Installed by `shotbridge install resolve`; remove with `shotbridge install resolve --uninstall`."


def utility_dir(system: str | None = None, home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The per-user Fusion/Scripts/Utility folder for `system` ("Darwin", "Windows", "Linux")."""
    system = system or platform.system()
    env = os.environ if env is None else env
    home = Path(home) if home is not None else Path.home()
    if system == "Darwin":
        base = home / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion"
    elif system == "Windows":
        appdata = env.get("APPDATA")
        roaming = Path(appdata) if appdata else home / "AppData" / "Roaming"
        base = roaming / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion"
    elif system == "Linux":
        base = home / ".local" / "share" / "DaVinciResolve" / "Fusion"
    else:
        raise InstallError(f"DaVinci Resolve runs on macOS, Windows and Linux, not {system}; pass the Scripts "
                           "folder explicitly (--resolve-dir).")
    return base / "Scripts" / "Utility"


def script_text(plugins: Path, python_paths: Sequence[Path] = ()) -> str:
    """ShotBridge.py with the checkout's plugin folder (and package folders) written in."""
    source = (plugins / SCRIPT).read_text(encoding="utf-8")
    joined = os.pathsep.join(str(p) for p in python_paths)
    text, found = re.subn(r'^SHOTBRIDGE_PLUGIN = "".*$', lambda _: f"SHOTBRIDGE_PLUGIN = {str(plugins)!r}",
                          source, count=1, flags=re.M)
    text, found_paths = re.subn(r'^SHOTBRIDGE_PYTHONPATH = "".*$', lambda _: f"SHOTBRIDGE_PYTHONPATH = {joined!r}",
                                text, count=1, flags=re.M)
    if not (found and found_paths):
        raise InstallError(f"{plugins / SCRIPT} lacks the SHOTBRIDGE_PLUGIN / SHOTBRIDGE_PYTHONPATH lines install "
                           "fills in; restore it from the ShotBridge checkout.")
    first, _, rest = text.partition("\n")
    return f"{first}\n{MARK}\n{rest}"


def _ours(path: Path) -> bool:
    try:
        return MARK in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install_resolve(scripts_dir: Path | None = None, plugins: Path | None = None,
                    python_paths: Sequence[Path] = ()) -> Path:
    """Copy ShotBridge.py into the Utility scripts folder (default: this user's, for this OS); returns it.

    `python_paths`: folders holding ShotBridge's packages (opentimelineio, pydantic, requests, qtpy,
    PySide6) installed for the Python that Resolve runs scripts with."""
    plugins = Path(plugins or plugin_dir("resolve")).resolve()
    if not (plugins / SCRIPT).is_file() or not (plugins / "shotbridge_resolve").is_dir():
        raise InstallError(f"{plugins} holds no ShotBridge Resolve plugin (ShotBridge.py, shotbridge_resolve/); "
                           "run this from a ShotBridge checkout.")
    target = Path(scripts_dir or utility_dir()) / SCRIPT
    if target.exists() and not _ours(target):
        raise InstallError(f"{target} exists and is not ShotBridge's (no install mark); move it away or pass "
                           "another folder with --resolve-dir.")
    text = script_text(plugins, python_paths)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return target  # nothing changed: the file is left as it is
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".shotbridge-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)  # atomic: Resolve never lists half a script
    return target


def uninstall_resolve(scripts_dir: Path | None = None) -> bool:
    """Remove ShotBridge.py from the Utility folder if it is ShotBridge's; True if it was there."""
    target = Path(scripts_dir or utility_dir()) / SCRIPT
    if not target.exists():
        return False
    if not _ours(target):
        raise InstallError(f"{target} is not ShotBridge's (no install mark); it was left alone.")
    target.unlink()
    return True


def resolve_installed(scripts_dir: Path | None = None) -> bool:
    target = Path(scripts_dir or utility_dir()) / SCRIPT
    return target.exists() and _ours(target)
