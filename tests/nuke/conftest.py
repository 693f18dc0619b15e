"""Nuke cannot run here: the adapter is tested against tests/nuke/fake, whose API is checked against the
published stubs (test_api_surface.py). The thread running the test is Nuke's main thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "plugins" / "nuke"
for path in (PLUGIN, HERE / "fake"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def nuke():
    import nuke as fake

    fake.reset()
    yield fake
    fake.reset()
