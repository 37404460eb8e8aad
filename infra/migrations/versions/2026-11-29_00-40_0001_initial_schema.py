"""Initial schema: platform tables and the shop entities of docs/data-model.md.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 00:40
Reversible: yes (drops every table it creates).

On PostgreSQL ``events`` is partitioned by month of ``ts`` (range partitions are created by
the loaders before they write a month; a DEFAULT partition catches anything else).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(14, 2)


def _shop_fk(primary_key: bool = True) -> sa.Column:
    return sa.Column(
        "shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"),
        primary_key=primary_key, nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("user_id_salt", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _shop_fk(primary_key=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_api_keys_shop_id", "api_keys", ["shop_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        _shop_fk(primary_key=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("params", JSON, nullable=False),
        sa.Column("result", JSON),
        sa.Column("error", JSON),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_jobs_shop_created", "jobs", ["shop_id", "created_at"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _shop_fk(primary_key=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("data_window", JSON, nullable=False),
        sa.Column("artifact_path", sa.Text()),
        sa.Column("checksum", sa.String(64)),
        sa.Column("job_id", sa.String(32)),
        sa.Column("trained_at", TS, nullable=False),
        sa.Column("promoted_at", TS),
        sa.UniqueConstraint("shop_id", "service", "version", name="uq_model_versions_version"),
    )
    op.create_index("ix_model_versions_active", "model_versions", ["shop_id", "service", "status"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _shop_fk(primary_key=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_webhooks_shop_id", "webhooks", ["shop_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _shop_fk(primary_key=False),
        sa.Column("webhook_id", sa.Integer(), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])

    op.create_table(
        "products",
        _shop_fk(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text()),
        sa.Column("category", sa.String(200)),
        sa.Column("brand", sa.String(200)),
        sa.Column("price", MONEY),
        sa.Column("cost", MONEY),
        sa.Column("status", sa.String(32)),
        sa.Column("created_at", TS),
        sa.Column("attributes", JSON),
    )
    op.create_index("ix_products_category", "products", ["shop_id", "category"])
    op.create_table(
        "customers",
        _shop_fk(),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(64)),
        sa.Column("city", sa.String(64)),
        sa.Column("gender", sa.String(16)),
        sa.Column("age_band", sa.String(16)),
        sa.Column("registered_at", TS),
    )
    op.create_table(
        "orders",
        _shop_fk(),
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("paid_at", TS),
        sa.Column("status", sa.String(16)),
        sa.Column("total_amount", MONEY),
        sa.Column("paid_amount", MONEY),
        sa.Column("shipping_fee", MONEY),
        sa.Column("discount", MONEY),
        sa.Column("channel", sa.String(16)),
        sa.Column("province", sa.String(64)),
        sa.Column("city", sa.String(64)),
    )
    op.create_index("ix_orders_created", "orders", ["shop_id", "created_at"])
    op.create_index("ix_orders_user", "orders", ["shop_id", "user_id"])
    op.create_table(
        "order_items",
        _shop_fk(),
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(200), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("paid_amount", MONEY),
        sa.Column("status", sa.String(16)),
    )
    op.create_index("ix_order_items_item", "order_items", ["shop_id", "item_id"])
    op.create_table(
        "events",
        _shop_fk(),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(8), primary_key=True),
        sa.Column("ts", TS, primary_key=True),
        sa.Column("category_id", sa.String(64)),
        postgresql_partition_by="RANGE (ts)",
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    op.create_index("ix_events_user", "events", ["shop_id", "user_id"])
    op.create_index("ix_events_item", "events", ["shop_id", "item_id"])
    op.create_table(
        "reviews",
        _shop_fk(),
        sa.Column("review_id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("rating", sa.SmallInteger()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TS),
    )
    op.create_index("ix_reviews_item", "reviews", ["shop_id", "item_id", "created_at"])
    op.create_table(
        "inventory",
        _shop_fk(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("date", sa.Date(), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("on_order", sa.Integer()),
        sa.Column("lead_time_days", sa.Integer()),
    )
    op.create_table(
        "competitor_prices",
        _shop_fk(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("competitor", sa.String(200), primary_key=True),
        sa.Column("observed_at", TS, primary_key=True),
        sa.Column("price", MONEY, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "competitor_prices", "inventory", "reviews", "events", "order_items", "orders", "customers",
        "products", "webhook_deliveries", "webhooks", "model_versions", "jobs", "api_keys", "shops",
    ):
        # CASCADE on PostgreSQL also drops the partitions of events.
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        else:
            op.drop_table(table)
