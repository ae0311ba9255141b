"""The alarm tables (SQLAlchemy Core) at the head migration: alarms, their history, incidents,
and the audit trail of operator actions.

They share :data:`waterops.store.tables.metadata`. Times are integer microseconds since
1970-01-01 UTC (``*_us``), as in the telemetry tables. Evidence, and the before/after of audit
lines, are JSON text (the same on SQLite and PostgreSQL).

De-duplication is also a database rule: a partial unique index allows one *live* alarm (not
resolved, not closed) per (kind, source, condition), so two processes raising the same alarm
at once cannot both succeed.
"""

from __future__ import annotations

import sqlalchemy as sa

from waterops.store.tables import metadata

LIVE_STATES_SQL = "state NOT IN ('resolved', 'closed')"
"""SQL predicate of a live alarm (see :data:`waterops.model.alarms.LIVE_STATES`)."""

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("group_key", sa.String(128), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("closed_us", sa.BigInteger, nullable=True),
    sa.Column("cause", sa.String(32), nullable=True),
    sa.Index("ix_incidents_group_state", "group_key", "state"),
)

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("condition", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("group_key", sa.String(128), nullable=False, server_default=""),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
    sa.Column("raised_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    sa.Column("cleared_us", sa.BigInteger, nullable=True),
    sa.Column("resolved_us", sa.BigInteger, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("worst_value", sa.Float, nullable=True),
    sa.Column("unit", sa.String(16), nullable=False, server_default=""),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("message_zh", sa.Text, nullable=False, server_default=""),
    sa.Column("diagnosis", sa.String(64), nullable=True),
    sa.Column("evidence", sa.Text, nullable=False, server_default="[]"),
    sa.Column("acknowledged_by", sa.String(128), nullable=True),
    sa.Column("assignee", sa.String(128), nullable=True),
    sa.Column("resolved_by", sa.String(128), nullable=True),
    sa.Column("cause", sa.String(32), nullable=True),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_alarms_state", "state"),
    sa.Index("ix_alarms_incident", "incident_id"),
    sa.Index(
        "ux_alarms_live_key", "kind", "source", "condition", unique=True,
        sqlite_where=sa.text(LIVE_STATES_SQL), postgresql_where=sa.text(LIVE_STATES_SQL),
    ),
)

alarm_history = sa.Table(
    "alarm_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alarm_id", sa.Integer, sa.ForeignKey("alarms.id"), nullable=False, index=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("state_before", sa.String(16), nullable=True),
    sa.Column("state_after", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_id", sa.Integer, nullable=False),
    sa.Column("before", sa.Text, nullable=False, server_default="{}"),
    sa.Column("after", sa.Text, nullable=False, server_default="{}"),
)
