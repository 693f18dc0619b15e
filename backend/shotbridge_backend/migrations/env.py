"""Alembic's environment: the connection comes from `shotbridge_backend.migrate` (config.attributes)."""

from alembic import context

from shotbridge_backend.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
)  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
