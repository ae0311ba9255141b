"""Complaints (events, callbacks, surveys), outage notices (targets), customer contacts, outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Only new tables. Complaints reference ``users`` (revision 0004) and the alarm ``incidents``
(revision 0003) they were joined to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("taken_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("contact_phone", sa.String(32), nullable=False, server_default=""),
        sa.Column("location_text", sa.Text, nullable=False, server_default=""),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.Column("node_id", sa.String(64), nullable=True),
        sa.Column("pump_room_id", sa.String(32), nullable=True),
        sa.Column("dma_id", sa.String(32), nullable=True),
        sa.Column("received_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.Column("diagnosis_s", sa.Float, nullable=True),
        sa.Column("diagnosis_en", sa.Text, nullable=False, server_default=""),
        sa.Column("diagnosis_zh", sa.Text, nullable=False, server_default=""),
        sa.Column("findings", sa.Text, nullable=False, server_default="[]"),
        sa.Column("cause_key", sa.String(128), nullable=True),
        sa.Column("alarm_incident_id", sa.Integer, sa.ForeignKey("incidents.id"),
                  nullable=True),
        sa.Column("group_lead_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=True),
        sa.Column("closed_at_us", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_complaints_customer_id", "complaints", ["customer_id"])
    op.create_index("ix_complaints_state", "complaints", ["state"])
    op.create_index("ix_complaints_cause_key", "complaints", ["cause_key"])
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state_before", sa.String(16), nullable=True),
        sa.Column("state_after", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_complaint_events_complaint_id", "complaint_events", ["complaint_id"])
    op.create_table(
        "complaint_callbacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("due_at_us", sa.BigInteger, nullable=False),
        sa.Column("done_at_us", sa.BigInteger, nullable=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("outcome", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_complaint_callbacks_complaint_id", "complaint_callbacks",
                    ["complaint_id"])
    op.create_table(
        "complaint_surveys",
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"),
                  primary_key=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "customer_contacts",
        sa.Column("account_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
    )
    op.create_index("ix_customer_contacts_user_id", "customer_contacts", ["user_id"])
    op.create_index("ix_customer_contacts_node_id", "customer_contacts", ["node_id"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("area", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("starts_at_us", sa.BigInteger, nullable=False),
        sa.Column("ends_at_us", sa.BigInteger, nullable=False),
        sa.Column("issued_at_us", sa.BigInteger, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("nodes", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("body_zh", sa.Text, nullable=False),
    )
    op.create_table(
        "notice_targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_notice_targets_notice_id", "notice_targets", ["notice_id"])
    op.create_index("ix_notice_targets_account_id", "notice_targets", ["account_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_us", sa.BigInteger, nullable=False),
        sa.Column("sent_at_us", sa.BigInteger, nullable=True),
        sa.Column("failed_at_us", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_outbox_notice_id", "outbox", ["notice_id"])
    op.create_index("ix_outbox_pending", "outbox",
                    ["sent_at_us", "failed_at_us", "next_attempt_us"])


def downgrade() -> None:
    for table in ("outbox", "notice_targets", "notices", "customer_contacts",
                  "complaint_surveys", "complaint_callbacks", "complaint_events",
                  "complaints"):
        op.drop_table(table)
