"""Where ShotBridge keeps its settings and secrets on this machine.

The embedded backend writes its token here on first start; the CLI, the client and every host adapter read
it from here, so nobody has to copy a token by hand. Environment variables win over files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8765"


def config_dir() -> Path:
    if env := os.environ.get("SHOTBRIDGE_CONFIG_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "shotbridge"


def data_dir() -> Path:
    if env := os.environ.get("SHOTBRIDGE_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "shotbridge"


def cache_dir() -> Path:
    if env := os.environ.get("SHOTBRIDGE_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "shotbridge"


def token_path() -> Path:
    return config_dir() / "token"


def write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a moment where it is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_token() -> str | None:
    if env := os.environ.get("SHOTBRIDGE_TOKEN"):
        return env.strip()
    try:
        return token_path().read_text().strip() or None
    except FileNotFoundError:
        return None


@dataclass
class Settings:
    url: str
    token: str | None
    project: str | None


def load_settings() -> Settings:
    """URL, token and default project from the environment, else ~/.config/shotbridge/config.json."""
    stored: dict = {}
    try:
        stored = json.loads((config_dir() / "config.json").read_text())
    except (FileNotFoundError, ValueError):
        pass
    return Settings(
        url=os.environ.get("SHOTBRIDGE_URL") or stored.get("url") or DEFAULT_URL,
        token=read_token(),
        project=os.environ.get("SHOTBRIDGE_PROJECT") or stored.get("project"),
    )


def save_settings(**values: str) -> None:
    path = config_dir() / "config.json"
    try:
        stored = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        stored = {}
    stored.update(values)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(stored, indent=2))
    os.replace(tmp, path)
