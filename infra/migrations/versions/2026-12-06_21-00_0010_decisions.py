"""Decisions: accepted or rejected advice, its frozen prediction and measured outcome, and the
customers a campaign targets or holds out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:00
Reversible: yes (drops both tables, and with them every recorded decision).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PublicId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", PublicId, primary_key=True, autoincrement=False),
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64)),
        sa.Column("segment", sa.String(64)),
        sa.Column("suggestion_id", sa.String(200)),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("advice", JSON, nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("outcome_window_days", sa.Integer(), nullable=False),
        sa.Column("holdout_share", sa.Float()),
        sa.Column("outcome", JSON),
        sa.Column("measured_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("shop_id", "dedupe_key", name="uq_decisions_dedupe"),
    )
    op.create_index("ix_decisions_shop_decided", "decisions", ["shop_id", "decided_at"])
    op.create_table(
        "decision_members",
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("decision_id", PublicId, sa.ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("holdout", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_members")
    op.drop_table("decisions")
