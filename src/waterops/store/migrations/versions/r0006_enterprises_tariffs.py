"""Enterprise one-to-one service: enterprises, their meters, visits, problems and history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Only new tables. Managers, customers and actors reference ``users`` (revision 0004); staff
actions go to ``audit_log`` (revision 0003). Tariffs are configuration (a TOML file, see
``waterops.model.tariffs``); an enterprise names the tariff it is billed on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("park_id", sa.String(64), nullable=True),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("customer_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("tariff_name", sa.String(64), nullable=True),
        sa.Column("justified_night_flow_m3s", sa.Float, nullable=False, server_default="0"),
        sa.Column("employees", sa.Integer, nullable=True),
        sa.Column("output_per_day", sa.Float, nullable=True),
        sa.Column("output_unit", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_enterprises_customer_user_id", "enterprises", ["customer_user_id"])
    op.create_index("ix_enterprises_industry", "enterprises", ["industry"])
    op.create_table(
        "enterprise_meters",
        sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"),
                  primary_key=True),
        sa.Column("sensor_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "enterprise_visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("visited_on", sa.Date, nullable=False),
        sa.Column("topics", sa.Text, nullable=False, server_default="[]"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_enterprise_visits_enterprise_id", "enterprise_visits",
                    ["enterprise_id"])
    op.create_table(
        "enterprise_problems",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("visit_id", sa.Integer, sa.ForeignKey("enterprise_visits.id"), nullable=True),
        sa.Column("raised_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("raised_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.Column("rectified_at_us", sa.BigInteger, nullable=True),
        sa.Column("closed_at_us", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_enterprise_problems_enterprise_id", "enterprise_problems",
                    ["enterprise_id"])
    op.create_table(
        "enterprise_problem_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("enterprise_problems.id"),
                  nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state_before", sa.String(16), nullable=True),
        sa.Column("state_after", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_enterprise_problem_events_problem_id", "enterprise_problem_events",
                    ["problem_id"])


def downgrade() -> None:
    for table in ("enterprise_problem_events", "enterprise_problems", "enterprise_visits",
                  "enterprise_meters", "enterprises"):
        op.drop_table(table)
