"""At most one active model version per shop and service, enforced by the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:30
Reversible: yes (drops the partial unique index).

Two concurrent promotes could otherwise both leave their version active; with this index the
second one fails and is answered with a 409.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_model_versions_one_active", "model_versions", ["shop_id", "service"], unique=True,
                    postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index("uq_model_versions_one_active", table_name="model_versions")
