"""Schema migrations (Alembic) on SQLite and on a real PostgreSQL: a fresh database is the models' schema, upgrades
are serialised between replicas, and `shotbridge db` says what it did or what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from shotbridge_backend import migrate
from shotbridge_backend.db import Base, Database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_cluster").database(f"m{os.urandom(6).hex()}")


def test_a_fresh_database_is_the_models_schema_at_head(url):
    db = Database(url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"the models changed without a migration: {diff}"  # add one under migrations/versions
    assert migrate.current(db.engine) == migrate.head()
    db.dispose()


def test_replicas_starting_together_upgrade_once(pg_cluster):
    url = pg_cluster.database(f"r{os.urandom(6).hex()}")
    errors, dbs = [], []

    def start():
        try:
            dbs.append(Database(url))
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with dbs[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    for db in dbs:
        db.dispose()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shotbridge.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_shotbridge_db_upgrades_and_reports(url):
    done = _cli("db", "current", "--database", url)
    assert done.returncode == 0 and done.stdout.startswith("none"), done.stderr
    done = _cli("db", "upgrade", "--database", url)
    assert done.returncode == 0 and f"-> {migrate.head()}" in done.stdout, done.stderr
    done = _cli("db", "upgrade", "--database", url)
    assert "up to date" in done.stdout


def test_an_unusable_database_stops_the_service_before_it_starts_with_the_url_named(tmp_path):
    done = _cli("serve", "--database", "postgresql://artist:s3cret@127.0.0.1:1/show", "--port", "1")
    assert done.returncode == 2
    assert "127.0.0.1:1/show" in done.stderr and "s3cret" not in done.stderr and "Traceback" not in done.stderr
    done = _cli("db", "upgrade", "--database", "mysql://a@b/c")
    assert done.returncode == 2 and "SQLite or PostgreSQL" in done.stderr


def _rows(url: str) -> dict[str, list[dict]]:
    from sqlalchemy import select

    engine = migrate.check(url)
    try:
        with engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_migrate_to_copies_an_embedded_project_to_postgresql(tmp_path, pg_cluster):
    """The data of a real embedded backend (project, token, asset, job with outputs, policy, audit) moves to
    PostgreSQL; a backend started on it serves the same project with the same token."""
    import numpy as np
    from PIL import Image

    from shotbridge_backend.demo import EmbeddedBackend

    root = tmp_path / "artist"
    embedded = EmbeddedBackend(root)
    client = embedded.start()
    try:
        project = client.create_project("show", "moved to the studio").id
        Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "plate.png")
        asset = client.upload(project, tmp_path / "plate.png")
        job = client.run(project, "echo", {"message": "hello"})
        policy = client.policy(project)
        client.set_policy(project, policy.model_copy(update={"onprem": False}))
    finally:
        client.close()
        embedded.stop()
    source = f"sqlite:///{root / 'data' / 'shotbridge.db'}"
    target = pg_cluster.database(f"m{os.urandom(6).hex()}")

    done = _cli("db", "migrate-to", target, "--database", source)
    assert done.returncode == 0, done.stderr
    before, after = _rows(source), _rows(target)
    assert after == before
    assert all(before[t] for t in ("projects", "tokens", "assets", "jobs", "policies"))
    assert f"copied {sum(len(v) for v in before.values())} rows" in done.stdout

    # a second copy is refused (it would duplicate or mix data) unless told to replace
    again = _cli("db", "migrate-to", target, "--database", source)
    assert again.returncode != 0 and "already holds data" in again.stderr and "--replace" in again.stderr
    assert _rows(target) == before
    replaced = _cli("db", "migrate-to", target, "--replace", "--database", source)
    assert replaced.returncode == 0, replaced.stderr
    assert _rows(target) == before

    studio = EmbeddedBackend(root, env={"SHOTBRIDGE_DATABASE_URL": target})
    client = studio.start()
    try:
        assert [p.id for p in client.projects()] == [project]
        moved = client.job(job.id)
        assert moved.status == job.status and moved.outputs == job.outputs
        assert client.asset(project, asset.sha256) is not None
        assert client.policy(project).onprem is False
    finally:
        client.close()
        studio.stop()


def test_migrate_to_needs_a_target(tmp_path):
    done = _cli("db", "migrate-to", "--database", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode != 0 and "Name the database to copy into" in done.stderr
