"""Alert states: what an operator did about an alert of the alerts centre (acknowledged, resolved).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:00
Reversible: yes (drops the table: every alert reads as open again).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_states")
