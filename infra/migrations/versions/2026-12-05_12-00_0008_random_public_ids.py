"""Random public ids: keys, model versions, webhooks and deliveries get 53-bit random ids.

The ids are chosen by the application (``shared.models._new_public_id``); PostgreSQL's columns
become BIGINT to hold them (SQLite's INTEGER is 64-bit already). Existing rows keep their ids.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00
Reversible: yes, while no id above 2**31 - 1 exists (a downgrade after new rows fails loudly).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = [("api_keys", "id"), ("model_versions", "id"), ("webhooks", "id"), ("webhook_deliveries", "id"),
           ("webhook_deliveries", "webhook_id")]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE BIGINT')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in reversed(COLUMNS):
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE INTEGER')
