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
