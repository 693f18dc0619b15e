"""A real backend process on a free loopback port, as users run it."""

from __future__ import annotations

import os

import datastores
import pytest

from shotbridge.client import Client
from shotbridge_backend.demo import EmbeddedBackend, sample_movie


@pytest.fixture(scope="session")
def pg_cluster():
    """One real PostgreSQL for the session; each backend gets a database of its own on it."""
    if not datastores.have_postgres():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: `make services` installs it (Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed here (make services)")
    with datastores.postgres() as pg:
        yield pg


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """The backend on its embedded SQLite, and on PostgreSQL (the studio's database)."""
    env = {}
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_cluster")
        env["SHOTBRIDGE_DATABASE_URL"] = pg.database(f"t{os.urandom(6).hex()}")
    backend = EmbeddedBackend(tmp_path_factory.mktemp("backend"), env=env)
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
