"""Field work orders (events, materials, links, crews) and the trunk main's failure record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Only new tables. Work orders reference ``users`` (revision 0004: the crew assigned); links to
alarms, incidents, complaints and notices are (kind, id) pairs, so a link to a record of any
of them needs no foreign key per kind. A trunk-main failure may name the work order of its
repair. Times are integer microseconds since 1970 UTC, as everywhere in the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("node_id", sa.String(64), nullable=True),
        sa.Column("link_id", sa.String(64), nullable=True),
        sa.Column("diameter_mm", sa.Float, nullable=True),
        sa.Column("location_text", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("reported_at_us", sa.BigInteger, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.Column("assignee_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("crew", sa.String(64), nullable=True),
        sa.Column("assigned_at_us", sa.BigInteger, nullable=True),
        sa.Column("en_route_at_us", sa.BigInteger, nullable=True),
        sa.Column("on_site_at_us", sa.BigInteger, nullable=True),
        sa.Column("repaired_at_us", sa.BigInteger, nullable=True),
        sa.Column("closed_at_us", sa.BigInteger, nullable=True),
        sa.Column("on_site_due_us", sa.BigInteger, nullable=False),
        sa.Column("fixed_due_us", sa.BigInteger, nullable=True),
        sa.Column("sla_basis", sa.Text, nullable=False, server_default=""),
        sa.Column("cause", sa.String(32), nullable=True),
        sa.Column("closure_note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_work_orders_state", "work_orders", ["state"])
    op.create_index("ix_work_orders_assignee_id", "work_orders", ["assignee_id"])
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state_before", sa.String(16), nullable=True),
        sa.Column("state_after", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_work_order_events_work_order_id", "work_order_events",
                    ["work_order_id"])
    op.create_table(
        "work_order_materials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
    )
    op.create_index("ix_work_order_materials_work_order_id", "work_order_materials",
                    ["work_order_id"])
    op.create_table(
        "work_order_links",
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"),
                  primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("target_id", sa.Integer, primary_key=True),
    )
    op.create_index("ix_work_order_links_target", "work_order_links", ["kind", "target_id"])
    op.create_table(
        "trunk_main_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("main_id", sa.String(64), nullable=False),
        sa.Column("occurred_at_us", sa.BigInteger, nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("link_id", sa.String(64), nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=True),
    )
    op.create_index("ix_trunk_main_failures_main_id", "trunk_main_failures",
                    ["main_id", "occurred_at_us"])


def downgrade() -> None:
    op.drop_table("trunk_main_failures")
    op.drop_table("work_order_links")
    op.drop_table("work_order_materials")
    op.drop_table("work_order_events")
    op.drop_table("work_orders")
