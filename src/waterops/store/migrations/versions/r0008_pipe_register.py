"""Pipe register: pipes with material, age, road, break and leak history; renewal plans.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Only new tables. A register belongs to a water system (``system`` text, as the pipe ids of
its network model); ``register_histories`` holds the years its failure history covers (a
year in it without a failure is evidence of none). Renewal plans keep their options and
per-year figures as JSON text and one row per renewed pipe. Times are integer microseconds
since 1970 UTC, as everywhere in the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_histories",
        sa.Column("system", sa.String(64), primary_key=True),
        sa.Column("first_year", sa.Integer, nullable=False),
        sa.Column("last_year", sa.Integer, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "register_pipes",
        sa.Column("system", sa.String(64), primary_key=True),
        sa.Column("pipe_id", sa.String(64), primary_key=True),
        sa.Column("material", sa.String(16), nullable=False),
        sa.Column("diameter_m", sa.Float, nullable=False),
        sa.Column("install_year", sa.Integer, nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("road_id", sa.String(64), nullable=False),
        sa.Column("road_class", sa.String(16), nullable=False),
        sa.Column("pressure_m", sa.Float, nullable=True),
    )
    op.create_index("ix_register_pipes_road", "register_pipes", ["system", "road_id"])
    op.create_table(
        "register_breaks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("pipe_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(["system", "pipe_id"],
                                ["register_pipes.system", "register_pipes.pipe_id"]),
    )
    op.create_index("ix_register_breaks_pipe", "register_breaks", ["system", "pipe_id"])
    op.create_table(
        "renewal_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("start_year", sa.Integer, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("years", sa.Text, nullable=False),
        sa.Column("risk_reduction_yuan", sa.Float, nullable=False),
        sa.Column("cost_yuan", sa.Float, nullable=False),
        sa.Column("mip_gap", sa.Float, nullable=True),
        sa.Column("solve_time_s", sa.Float, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_renewal_plans_system", "renewal_plans", ["system"])
    op.create_table(
        "renewal_plan_pipes",
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("renewal_plans.id"), primary_key=True),
        sa.Column("pipe_id", sa.String(64), primary_key=True),
        sa.Column("road_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("cost_yuan", sa.Float, nullable=False),
        sa.Column("risk_reduction_yuan", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("renewal_plan_pipes")
    op.drop_index("ix_renewal_plans_system", table_name="renewal_plans")
    op.drop_table("renewal_plans")
    op.drop_index("ix_register_breaks_pipe", table_name="register_breaks")
    op.drop_table("register_breaks")
    op.drop_index("ix_register_pipes_road", table_name="register_pipes")
    op.drop_table("register_pipes")
    op.drop_table("register_histories")
