"""Jobs can be cancelled and are swept: a cancel request, a heartbeat, a requeue count.

``cancel_requested_at`` is set when a running job is asked to stop; ``heartbeat_at`` is stamped by
the attempt running it (a stale one means its worker died); ``requeues`` counts how often the
sweeper put a lost job back in the queue. The partial index keeps the sweeper's scan to
unfinished jobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 11:00
Reversible: yes (drops the columns and the index; cancelled jobs keep the status "cancelled").
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cancel_requested_at", TS, nullable=True))
        batch.add_column(sa.Column("heartbeat_at", TS, nullable=True))
        batch.add_column(sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_jobs_unfinished", "jobs", ["status"],
                    postgresql_where=sa.text("status IN ('queued', 'running')"),
                    sqlite_where=sa.text("status IN ('queued', 'running')"))


def downgrade() -> None:
    op.drop_index("ix_jobs_unfinished", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("requeues")
        batch.drop_column("heartbeat_at")
        batch.drop_column("cancel_requested_at")
