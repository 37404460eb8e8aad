"""Review sentiment scores, the log of alerts already sent, and per-shop service settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:00
Reversible: yes (drops the tables; reviews are re-scored by the next sentiment job; shop settings are lost).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_sentiment",
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("review_id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("aspects", JSON, nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_review_sentiment_item", "review_sentiment", ["shop_id", "item_id", "created_at"])
    op.create_table(
        "sent_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("shop_id", "kind", "subject", "state", name="uq_sent_alerts"),
    )
    op.create_table(
        "shop_settings",
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shop_settings")
    op.drop_table("sent_alerts")
    op.drop_index("ix_review_sentiment_item", table_name="review_sentiment")
    op.drop_table("review_sentiment")
