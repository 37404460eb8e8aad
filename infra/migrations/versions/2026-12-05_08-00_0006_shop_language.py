"""Shops have a language: what their answers, reasons and errors are written in.

A request's ``Accept-Language`` overrides it; existing shops read Chinese, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:00
Reversible: yes (drops the column).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="zh-CN"))


def downgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("language")
