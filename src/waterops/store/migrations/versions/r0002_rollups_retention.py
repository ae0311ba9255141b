"""Rollups kept for good, the retention watermark, free-form sensor attributes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Upgrading keeps every row: existing sensors get ``attributes = '{}'``; rollups start empty and
are filled by the next ``rollup``/retention run from the raw readings, which are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sensors", sa.Column("attributes", sa.Text, nullable=False, server_default="{}")
    )
    op.create_table(
        "rollups",
        sa.Column("sensor_key", sa.Integer, primary_key=True),
        sa.Column("bucket_s", sa.Integer, primary_key=True),
        sa.Column("start_us", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "store_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_state")
    op.drop_table("rollups")
    with op.batch_alter_table("sensors") as batch:
        batch.drop_column("attributes")
