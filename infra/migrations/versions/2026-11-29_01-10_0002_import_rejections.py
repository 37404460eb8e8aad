"""Import rejections: the rows an import refused, for the downloadable report.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:10
Reversible: yes (drops the table; the reports of past imports are lost).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_rejections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shop_id", sa.Integer(), sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(200), nullable=False),
        sa.Column("raw_value", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_import_rejections_job", "import_rejections", ["shop_id", "job_id", "row_number"])


def downgrade() -> None:
    op.drop_index("ix_import_rejections_job", table_name="import_rejections")
    op.drop_table("import_rejections")
