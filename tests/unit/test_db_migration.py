"""A database made by an older ShotBridge opens with a newer one: added columns are added, nothing is lost."""

from __future__ import annotations

import sqlite3

from shotbridge_backend.db import Database, JobRow, ProjectRow


def test_columns_added_since_the_database_was_made_are_added_in_place(tmp_path):
    url = f"sqlite:///{tmp_path / 'sb.db'}"
    db = Database(url)
    with db.session() as s:
        s.add(ProjectRow(id="p1", name="show"))
    with db.session() as s:
        s.add(JobRow(id="j1", project_id="p1", operation="echo", params={}, provider="local", status="succeeded"))
    db.dispose()
    with sqlite3.connect(tmp_path / "sb.db") as conn:  # the jobs table as the first release made it
        conn.execute("ALTER TABLE jobs DROP COLUMN token_id")
        conn.execute("DROP TABLE egress")
        conn.execute("DROP TABLE alembic_version")  # and from before migrations
    db = Database(url)
    with db.session() as s:
        job = s.get(JobRow, "j1")
        assert (job.operation, job.status, job.token_id) == ("echo", "succeeded", "")
        s.add(JobRow(id="j2", project_id="p1", operation="echo", params={}, provider="local", status="queued",
                     token_id="abc"))
    with sqlite3.connect(tmp_path / "sb.db") as conn:
        assert "egress" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.dispose()


def test_characters_made_before_versioning_get_version_1_and_can_be_edited(tmp_path):
    from shotbridge_backend.db import CharacterRow

    url = f"sqlite:///{tmp_path / 'sb.db'}"
    db = Database(url)
    with db.session() as s:
        s.add(ProjectRow(id="p1", name="show"))
        s.flush()
        s.add(CharacterRow(id="c1", project_id="p1", name="Ada"))
    db.dispose()
    with sqlite3.connect(tmp_path / "sb.db") as conn:
        conn.execute("ALTER TABLE characters DROP COLUMN version")
        conn.execute("DROP TABLE alembic_version")  # made before migrations
    db = Database(url)
    with db.session() as s:
        row = s.get(CharacterRow, "c1")
        assert row.version == 1
        row.notes = "edited"
    with db.session() as s:
        assert (s.get(CharacterRow, "c1").notes, s.get(CharacterRow, "c1").version) == ("edited", 2)
    db.dispose()
