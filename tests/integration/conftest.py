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


SERVER_MODES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    """Every test that uses `server` runs against each mode; a module lists more in its own SERVER_MODES
    (("sqlite", "postgresql", "studio") where jobs should also run on a Celery worker)."""
    if "server" in metafunc.fixturenames:
        metafunc.parametrize("server", getattr(metafunc.module, "SERVER_MODES", SERVER_MODES), indirect=True,
                             scope="module")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    if not datastores.have_redis():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: `make services` installs it (Debian's redis-server)")
        pytest.skip("redis-server is not installed here (make services)")
    with datastores.redis(tmp_path_factory.mktemp("redis")) as redis:
        yield redis


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """The backend on its embedded SQLite, on PostgreSQL (the studio's database), and in studio mode: the API
    on PostgreSQL handing jobs through Redis to a Celery worker in a process of its own."""
    env, worker = {}, None
    if request.param in ("postgresql", "studio"):
        pg = request.getfixturevalue("pg_cluster")
        env["SHOTBRIDGE_DATABASE_URL"] = pg.database(f"t{os.urandom(6).hex()}")
    root = tmp_path_factory.mktemp("backend")
    if request.param == "studio":
        queue = f"q{os.urandom(4).hex()}"  # a queue of its own on the session's Redis
        env |= {"SHOTBRIDGE_BROKER_URL": request.getfixturevalue("redis_server").url, "SHOTBRIDGE_QUEUE": queue,
                "SHOTBRIDGE_ASSET_DIR": str(root / "data" / "assets")}
    backend = EmbeddedBackend(root, env=env)
    client = backend.start()
    if request.param == "studio":
        worker = datastores.start_worker(root / "worker", {**backend.env})
    yield backend
    client.close()
    if worker is not None:
        worker.stop()
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
