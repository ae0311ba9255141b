"""The store's tables (SQLAlchemy Core), as they are at the head migration.

Times are integer microseconds since 1970-01-01 UTC (``*_us`` columns, BIGINT) on both
databases. Why not ``timestamptz``: SQLite has no time type, and one integer form lets the same
SQL run on both; bucket arithmetic (``time_us / bucket_us * bucket_us``) is exact integer
division on both; integers compare and index as fast as anything, go through PostgreSQL's binary
COPY without conversion, and map to and from numpy ``datetime64[us]`` without a loop.
Microseconds (not milliseconds) so a Python ``datetime`` round-trips exactly.

Readings refer to their sensor by an integer ``sensor_key`` (the sensor's stable text id is in
``sensors.id``): 4 bytes per reading instead of a string, a narrower primary-key index, faster
ingest. There is deliberately no foreign key from ``readings`` to ``sensors``: the store checks
every sensor of a batch before writing it, in the same transaction, and a per-row foreign-key
trigger would halve PostgreSQL bulk-ingest speed.

The migrations in ``migrations/versions`` create these tables; they never import this module
(a migration describes the schema of its own revision, frozen).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

water_systems = sa.Table(
    "water_systems",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("network_file", sa.Text, nullable=True),
)

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("system_id", sa.String(64), sa.ForeignKey("water_systems.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("x", sa.Float, nullable=True),
    sa.Column("y", sa.Float, nullable=True),
)

sensors = sa.Table(
    "sensors",
    metadata,
    sa.Column("key", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(128), nullable=False, unique=True),
    sa.Column("system_id", sa.String(64), sa.ForeignKey("water_systems.id"), nullable=False),
    sa.Column("quantity", sa.String(32), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.id"), nullable=True),
    sa.Column("element_kind", sa.String(8), nullable=True),
    sa.Column("element_id", sa.String(64), nullable=True),
    sa.Column("lower", sa.Float, nullable=True),
    sa.Column("upper", sa.Float, nullable=True),
    sa.Column("interval_s", sa.Float, nullable=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("attributes", sa.Text, nullable=False, server_default="{}"),  # JSON object
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("sensor_key", sa.Integer, primary_key=True),
    sa.Column("time_us", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("flags", sa.SmallInteger, nullable=False, server_default="0"),
    sqlite_with_rowid=False,
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

rollups = sa.Table(
    "rollups",
    metadata,
    sa.Column("sensor_key", sa.Integer, primary_key=True),
    sa.Column("bucket_s", sa.Integer, primary_key=True),  # 900, 3600 or 86400
    sa.Column("start_us", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("sum", sa.Float, nullable=False),
    sa.Column("min", sa.Float, nullable=False),
    sa.Column("max", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)

store_state = sa.Table(
    "store_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""Small named integers; ``raw_kept_from_us``: raw readings older than this were purged."""

ROLLUP_BUCKETS_S = (900, 3600, 86400)
"""Rollup bucket sizes kept for good: 15 minutes, hourly, daily [s]; all divide a UTC day."""
