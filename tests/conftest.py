"""Shared by every test environment (the main venv and the Blender venvs): keep it free of heavy imports."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """No test reads or writes the real user's ShotBridge config, data or cache."""
    for name in ("CONFIG", "DATA", "CACHE"):
        monkeypatch.setenv(f"SHOTBRIDGE_{name}_DIR", str(tmp_path / f"user-{name.lower()}"))
    for name in ("SHOTBRIDGE_URL", "SHOTBRIDGE_TOKEN", "SHOTBRIDGE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
