from __future__ import annotations

import os

import pytest

from shotbridge.client import Client
from shotbridge_backend.demo import EmbeddedBackend

SCREENSHOTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "test-output" / "panel-screenshots"


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = EmbeddedBackend(tmp_path_factory.mktemp("panel-backend"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def client_factory(backend, tmp_path):
    token = (backend.root / "config" / "token").read_text().strip()
    return lambda: Client(backend.url, token, cache_dir=tmp_path / "cache")


@pytest.fixture
def project_name(request):
    return f"panel-{request.node.name[:30]}-{os.urandom(2).hex()}".replace("[", "").replace("]", "")
