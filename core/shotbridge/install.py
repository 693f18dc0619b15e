"""Install the host plugins into a user's applications, idempotently, with an uninstall.

Nuke: a delimited block in ~/.nuke/init.py adds this checkout's plugins/nuke to Nuke's plugin path; running
install again changes nothing, uninstall removes exactly that block.
"""

from __future__ import annotations

import os
from pathlib import Path

BEGIN = "# >>> shotbridge >>>"
END = "# <<< shotbridge <<<"


def plugin_dir(host: str) -> Path:
    return Path(__file__).resolve().parents[2] / "plugins" / host


def _without_block(text: str) -> str:
    lines, out, inside = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".shotbridge-tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def install_nuke(nuke_dir: Path | None = None, plugins: Path | None = None) -> Path:
    """Add (or refresh) the ShotBridge block in NUKE_DIR/init.py; returns the file."""
    init = Path(nuke_dir or Path.home() / ".nuke") / "init.py"
    plugins = plugins or plugin_dir("nuke")
    if not (plugins / "init.py").exists():
        raise FileNotFoundError(f"{plugins} holds no Nuke plugin (init.py); is this a ShotBridge checkout?")
    text = init.read_text() if init.exists() else ""
    block = f"{BEGIN}\nimport nuke\nnuke.pluginAddPath({str(plugins)!r})\n{END}\n"
    rest = _without_block(text)
    new = rest + ("" if not rest or rest.endswith("\n") else "\n") + block
    if new != text:
        _write(init, new)
    return init


def uninstall_nuke(nuke_dir: Path | None = None) -> bool:
    """Remove the ShotBridge block; True if there was one."""
    init = Path(nuke_dir or Path.home() / ".nuke") / "init.py"
    if not init.exists():
        return False
    text = init.read_text()
    rest = _without_block(text)
    if rest == text:
        return False
    _write(init, rest)
    return True
