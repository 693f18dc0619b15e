"""Reaching Resolve: from Workspace > Scripts (the global `app`) or from outside (DaVinciResolveScript).

Outside Resolve, the scripting module is found the way Blackmagic's README describes, trying in turn:
DaVinciResolveScript already importable; `$RESOLVE_SCRIPT_API/Modules`; the default install's
Developer/Scripting/Modules for this OS; then the fusionscript library itself (`$RESOLVE_SCRIPT_LIB`, then the
default library path). The error lists every place tried and what happened there. External scripting needs
DaVinci Resolve Studio, running, with Preferences > System > General > External scripting using set to Local.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fusionscript import Fusion, Resolve

MODULE = "DaVinciResolveScript"


class LoaderError(RuntimeError):
    """Resolve could not be reached; the message says where ShotBridge looked and what to do."""


@dataclass
class Search:
    system: str
    tried: list[str] = field(default_factory=list)

    def note(self, where: object, what: str) -> None:
        self.tried.append(f"{where}: {what}")


def _system(system: str | None) -> str:
    return system or platform.system()  # "Darwin", "Windows" or "Linux"


def _path(system: str, *parts: str) -> PurePath:
    return (PureWindowsPath if system == "Windows" else PurePosixPath)(*parts)


def api_dirs(env: Mapping[str, str], system: str) -> list[PurePath]:
    """Where DaVinciResolveScript.py may live (its folder's parent, RESOLVE_SCRIPT_API), in search order."""
    dirs = [_path(system, env["RESOLVE_SCRIPT_API"])] if env.get("RESOLVE_SCRIPT_API") else []
    if system == "Darwin":
        dirs.append(_path(system, "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting"))
    elif system == "Windows":
        data = env.get("PROGRAMDATA") or "C:\\ProgramData"
        dirs.append(_path(system, data, "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"))
    else:  # Linux: /opt/resolve, or /home/resolve for the ISO installs
        dirs += [_path(system, "/opt/resolve/Developer/Scripting"), _path(system, "/home/resolve/Developer/Scripting")]
    return dirs


def library_paths(env: Mapping[str, str], system: str) -> list[PurePath]:
    """Where the fusionscript library may live (RESOLVE_SCRIPT_LIB first), in search order."""
    libs = [_path(system, env["RESOLVE_SCRIPT_LIB"])] if env.get("RESOLVE_SCRIPT_LIB") else []
    if system == "Darwin":
        libs.append(_path(system, "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/"
                                  "fusionscript.so"))
    elif system == "Windows":
        programs = env.get("PROGRAMFILES") or "C:\\Program Files"
        libs.append(_path(system, programs, "Blackmagic Design", "DaVinci Resolve", "fusionscript.dll"))
    else:
        libs += [_path(system, "/opt/resolve/libs/Fusion/fusionscript.so"),
                 _path(system, "/home/resolve/libs/Fusion/fusionscript.so")]
    return libs


def _import_from(folder: str) -> ModuleType:
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules.pop(MODULE, None)  # a failed earlier attempt must not stand in for this one
    return importlib.import_module(MODULE)


def _load_library(path: str) -> ModuleType:
    loader = importlib.machinery.ExtensionFileLoader("fusionscript", path)
    spec = importlib.util.spec_from_loader("fusionscript", loader)
    if spec is None:
        raise ImportError(f"no loader for {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def scripting_module(env: Mapping[str, str] | None = None, system: str | None = None) -> ModuleType:
    """DaVinciResolveScript (or fusionscript itself); LoaderError lists every path tried."""
    env = os.environ if env is None else env
    search = Search(_system(system))
    try:
        return importlib.import_module(MODULE)
    except ImportError as exc:
        search.note(f"import {MODULE} (sys.path, PYTHONPATH)", f"not importable ({exc})")
    for api in api_dirs(env, search.system):
        modules = api / "Modules"
        script = modules / f"{MODULE}.py"
        if not os.path.isfile(str(script)):
            search.note(script, "not found")
            continue
        try:
            return _import_from(str(modules))
        except Exception as exc:  # its own import of fusionscript failed: say how, try the next place
            search.note(script, f"found, but it failed to load Resolve's library ({type(exc).__name__}: {exc})")
    for lib in library_paths(env, search.system):
        if not os.path.isfile(str(lib)):
            search.note(lib, "not found")
            continue
        try:
            return _load_library(str(lib))
        except Exception as exc:
            search.note(lib, f"found, but it did not load ({type(exc).__name__}: {exc})")
    raise LoaderError(
        "DaVinci Resolve's scripting module was not found. ShotBridge tried, in order:\n  "
        + "\n  ".join(search.tried)
        + "\nSet RESOLVE_SCRIPT_API to Resolve's Developer/Scripting folder (and RESOLVE_SCRIPT_LIB to its "
        "fusionscript library) as Resolve's scripting README describes, or start ShotBridge from "
        "Workspace > Scripts inside Resolve.")


def connect(module: ModuleType | None = None, env: Mapping[str, str] | None = None,
            system: str | None = None) -> Resolve:
    """Resolve, reached from outside (DaVinci Resolve Studio with external scripting on)."""
    module = module or scripting_module(env, system)
    resolve: Resolve | None = module.scriptapp("Resolve")
    if not resolve:
        raise LoaderError(
            "DaVinci Resolve did not answer. Start Resolve first; external scripts need DaVinci Resolve Studio with "
            "Preferences > System > General > External scripting using: Local. (From Resolve 21.1 the free "
            "edition has no scripting at all: export the timeline from File > Export and use `shotbridge panel "
            "FILE` instead.)")
    return resolve


def from_app(app: Fusion) -> Resolve:
    """Resolve, from the global `app` a script started by Workspace > Scripts gets."""
    resolve: Resolve | None = app.GetResolve()
    if not resolve:
        raise LoaderError("Resolve's `app` gave no Resolve object (app.GetResolve() returned nothing); start "
                          "ShotBridge from Workspace > Scripts in DaVinci Resolve.")
    return resolve
