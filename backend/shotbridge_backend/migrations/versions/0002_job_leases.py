"""Jobs run by separate workers: who runs a job, its last heartbeat, and when it was handed to the broker.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


COLUMNS = (
    ("worker", sa.String(length=200)),
    ("heartbeat_at", sa.DateTime()),
    ("enqueued_at", sa.DateTime()),
)


def upgrade() -> None:
    # A database from before migrations was completed with today's columns before being stamped 0001 (migrate.py):
    # it may have these already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}
    with op.batch_alter_table("jobs") as batch:  # batch: SQLite cannot drop columns in place (downgrade)
        for name, type_ in COLUMNS:
            if name not in have:
                batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("enqueued_at")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker")
