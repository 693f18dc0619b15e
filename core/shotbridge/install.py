"""Install the host plugins into a user's applications, idempotently, with an uninstall.

Nuke: Nuke runs `~/.nuke/init.py` at start-up (GUI, `nuke -t` and render nodes alike). `install_nuke` adds
one delimited block there that puts this checkout's `plugins/nuke` on Nuke's plugin path; Nuke then runs
that folder's init.py (paths only) and, in the GUI, its menu.py (menu and panel). Running install again
rewrites the block in place (so a moved checkout is picked up) and changes nothing else; uninstall removes
exactly that block. Studios that manage NUKE_PATH centrally add `plugins/nuke` to it instead
(`nuke_path_hint`) and skip ~/.nuke altogether.

    # >>> shotbridge >>>
    # Added by `shotbridge install nuke`; remove with `shotbridge install nuke --uninstall`.
    import os as _sb_os
    import nuke as _sb_nuke
    if _sb_os.path.isdir('/path/to/checkout/plugins/nuke'):
        _sb_nuke.pluginAddPath('/path/to/checkout/plugins/nuke')
    # <<< shotbridge <<<
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .errors import ShotBridgeError

BEGIN = "# >>> shotbridge >>>"
END = "# <<< shotbridge <<<"


class InstallError(ShotBridgeError):
    """The install cannot proceed safely; the message says what to fix."""


def plugin_dir(host: str) -> Path:
    return Path(__file__).resolve().parents[2] / "plugins" / host


def nuke_dir_default() -> Path:
    return Path.home() / ".nuke"


def nuke_block(plugins: Path, python_paths: Sequence[Path] = ()) -> str:
    """The lines install_nuke adds: the plugin folder on Nuke's plugin path (skipped if it was moved)."""
    lines = [BEGIN, "# Added by `shotbridge install nuke`; remove with `shotbridge install nuke --uninstall`.",
             "import os as _sb_os", "import nuke as _sb_nuke"]
    if python_paths:  # ShotBridge's dependencies installed for Nuke's own Python
        joined = os.pathsep.join(str(p) for p in python_paths)
        lines.append(f"_sb_os.environ.setdefault('SHOTBRIDGE_PYTHONPATH', {joined!r})")
    lines += [f"if _sb_os.path.isdir({str(plugins)!r}):", f"    _sb_nuke.pluginAddPath({str(plugins)!r})", END]
    return "\n".join(lines) + "\n"


def nuke_path_hint(plugins: Path | None = None) -> str:
    """The shell line for studios that set NUKE_PATH themselves instead of editing ~/.nuke/init.py."""
    plugins = plugins or plugin_dir("nuke")
    if os.name == "nt":
        return f'set NUKE_PATH={plugins};%NUKE_PATH%'
    return f'export NUKE_PATH="{plugins}${{NUKE_PATH:+:$NUKE_PATH}}"'


def _split(text: str, path: Path) -> tuple[str, str | None, str]:
    """(before, our block or None, after); refuses a block whose markers do not pair up."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not begins and not ends:
        return text, None, ""
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise InstallError(f"{path} holds a damaged ShotBridge block ({len(begins)} start and {len(ends)} end "
                           f"markers); fix or remove the lines between '{BEGIN}' and '{END}' by hand.")
    b, e = begins[0], ends[0]
    return "".join(lines[:b]), "".join(lines[b:e + 1]), "".join(lines[e + 1:])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".shotbridge-tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)  # atomic: Nuke never reads half a file


def _read(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, encoding="utf-8", newline="") as f:  # keep the file's own line endings
        return f.read()


def install_nuke(nuke_dir: Path | None = None, plugins: Path | None = None,
                 python_paths: Sequence[Path] = ()) -> Path:
    """Add (or refresh) the ShotBridge block in NUKE_DIR/init.py (default ~/.nuke); returns that file.

    `plugins` defaults to this checkout's plugins/nuke. `python_paths`: folders holding ShotBridge's
    dependencies (opentimelineio, pydantic, requests, qtpy) installed for Nuke's own Python.
    """
    init = Path(nuke_dir or nuke_dir_default()) / "init.py"
    plugins = Path(plugins or plugin_dir("nuke")).resolve()
    if not (plugins / "init.py").exists() or not (plugins / "shotbridge_nuke").is_dir():
        raise InstallError(f"{plugins} holds no ShotBridge Nuke plugin (init.py, shotbridge_nuke/); "
                           "run this from a ShotBridge checkout.")
    text = _read(init)
    before, old, after = _split(text, init)
    block = nuke_block(plugins, python_paths)
    if old is not None:
        new = before + block + after  # in place: the user's lines around it keep their order
    else:
        new = before + ("" if not before or before.endswith("\n") else "\n") + block
    if new != text:
        _write(init, new)
    return init


def uninstall_nuke(nuke_dir: Path | None = None) -> bool:
    """Remove the ShotBridge block from NUKE_DIR/init.py; True if there was one. Nothing else changes."""
    init = Path(nuke_dir or nuke_dir_default()) / "init.py"
    if not init.exists():
        return False
    text = _read(init)
    before, old, after = _split(text, init)
    if old is None:
        return False
    _write(init, before + after)
    return True


def nuke_installed(nuke_dir: Path | None = None) -> bool:
    before, old, after = _split(_read(Path(nuke_dir or nuke_dir_default()) / "init.py"), Path("init.py"))
    return old is not None
