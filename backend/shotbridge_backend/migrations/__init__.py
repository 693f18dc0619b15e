"""Schema migrations (Alembic) for SQLite and PostgreSQL alike; `shotbridge db upgrade` runs them."""
