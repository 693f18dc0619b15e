"""A real backend process on a free loopback port, as users run it."""

from __future__ import annotations

import os

import pytest

from shotbridge.client import Client
from shotbridge_backend.demo import EmbeddedBackend, sample_movie


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    backend = EmbeddedBackend(tmp_path_factory.mktemp("backend"))
    client = backend.start()
    yield backend
    client.close()
    backend.stop()


@pytest.fixture
def admin(server) -> Client:
    token = (server.root / "config" / "token").read_text().strip()
    with Client(server.url, token, cache_dir=server.root / "client-cache") as client:
        yield client


@pytest.fixture
def project(admin, request):
    name = f"{request.node.name[:40]}-{os.urandom(3).hex()}".replace("[", "-").replace("]", "")
    return admin.create_project(name)


@pytest.fixture(scope="session")
def movie(tmp_path_factory):
    return sample_movie(tmp_path_factory.mktemp("media") / "cuts.mp4", seconds_per_shot=1.0, size=(320, 180))
