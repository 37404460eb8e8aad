"""Events keep only their natural-key primary key.

``ix_events_user`` (shop_id, user_id) repeated the primary key's leading columns, and no query
looks events up by item (``ix_events_item``); each extra index roughly doubled the cost of
writing an imported event (docs/benchmarks.md, Imports).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:00
Reversible: yes (rebuilds both indexes).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_item", table_name="events")
    op.drop_index("ix_events_user", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_user", "events", ["shop_id", "user_id"])
    op.create_index("ix_events_item", "events", ["shop_id", "item_id"])
