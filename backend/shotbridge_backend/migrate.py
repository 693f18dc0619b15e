"""A database's schema brought to this version's with Alembic, on SQLite and PostgreSQL alike.

The embedded backend upgrades its own SQLite file at start; a studio runs `shotbridge db upgrade` (API replicas
upgrade at start too, one at a time: PostgreSQL's advisory lock serialises them). A database made before
migrations existed (tables, no `alembic_version`) is completed column by column and stamped as the first
revision, then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, Engine

SCRIPTS = Path(__file__).with_name("migrations")
FIRST = "0001"
_LOCK = 0x5B_0D_B1  # PostgreSQL advisory lock id for schema changes


def _config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPTS)).get_current_head()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade to `target`; returns (revision before, revision after)."""
    from alembic import command

    from .db import Base, add_missing_columns

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK})
        try:
            before = _revision(conn)
            if before is None and inspect(conn).has_table("jobs"):  # made before migrations existed
                Base.metadata.create_all(conn)
                add_missing_columns(conn)
                command.stamp(_config(conn), FIRST)
            command.upgrade(_config(conn), target)
            after = _revision(conn)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK})
                conn.commit()
    return before, after


class TargetNotEmpty(RuntimeError):
    """`db migrate-to` found rows in the target; the message says which tables and how to go on."""


def copy_all(source: Engine, target: Engine, *, replace: bool = False, batch: int = 1000) -> dict[str, int]:
    """Copy every table of a ShotBridge database into another (an embedded project's SQLite file into the
    studio's PostgreSQL): both schemas upgraded to head first, then the rows table by table in foreign-key
    order, in one transaction on the target (a failure leaves it as it was), counts checked at the end.
    A target with rows is refused (TargetNotEmpty) unless `replace`, which empties it first in the same
    transaction. Returns table -> rows copied. Stop the embedded backend first: rows it writes meanwhile are
    not copied."""
    from .db import Base

    upgrade(source)
    upgrade(target)
    tables = Base.metadata.sorted_tables  # parents before children
    copied: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        held = {t.name: n for t in tables if (n := dst.execute(select(func.count()).select_from(t)).scalar_one())}
        if held and not replace:
            shown = ", ".join(f"{name} ({n} rows)" for name, n in held.items())
            raise TargetNotEmpty(f"the target database already holds data: {shown}. Point migrate-to at a new, "
                                 "empty database, or pass --replace to delete those rows and copy over them.")
        for table in reversed(tables):  # children before parents
            if table.name in held:
                dst.execute(table.delete())
        for table in tables:
            copied[table.name] = 0
            result = src.execute(select(table).order_by(*table.primary_key.columns))
            while rows := result.fetchmany(batch):
                dst.execute(table.insert(), [dict(row._mapping) for row in rows])
                copied[table.name] += len(rows)
        for table in tables:
            have = dst.execute(select(func.count()).select_from(table)).scalar_one()
            if have != copied[table.name]:  # rolled back by the transaction
                raise RuntimeError(f"table {table.name}: copied {copied[table.name]} rows but the target has {have}")
    return copied


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used; the message names it (password hidden) and why."""


def check(url: str) -> Engine:
    """An engine for `url` that has answered a query, else DatabaseUnavailable naming the URL and the reason:
    a service must not start half-way on a database it cannot use."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from .db import make_engine

    try:
        parsed = make_url(url)
        shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # a first start: no data dir yet
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"'{url}' is not a database URL ({exc}); use sqlite:///PATH or "
                                  "postgresql://USER:PASSWORD@HOST:PORT/DATABASE.") from None
    except ModuleNotFoundError as exc:
        raise DatabaseUnavailable(f"No driver for {url.split(':', 1)[0]} ({exc.name} is missing): ShotBridge keeps "
                                  "its state in SQLite or PostgreSQL (psycopg comes with 'shotbridge[backend]').") from None
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise DatabaseUnavailable(f"Cannot use the database at {shown}: {reason}") from None
    return engine


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()
