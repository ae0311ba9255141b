"""Rollups (15 min, hourly, daily; kept for good) and retention of raw readings.

How the two fit, so that re-running either is always safe:

- ``raw_kept_from_us`` (the *watermark*, in ``store_state``) is the UTC midnight before which
  raw readings have been purged. It only moves forward.
- :func:`rollup` *recomputes* the rollups of finished buckets from raw readings at or after
  the watermark (replacing what was there), so running it twice gives the same rollups.
- :func:`apply_retention`, in one transaction: recomputes the rollups of every bucket about to
  lose its raw readings, deletes those readings, and moves the watermark. Readings that arrived
  late for an already purged day are *added* to the rollups (count, sum, min, max merge) and
  deleted in the same transaction, so they are counted exactly once.

The watermark is a UTC midnight and every rollup bucket divides a day, so a bucket is never
half purged.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from waterops.store.tables import ROLLUP_BUCKETS_S, store_state
from waterops.store.timecodes import US_PER_DAY, US_PER_S, floor_us

WATERMARK = "raw_kept_from_us"
ROLLED_UNTIL = "rolled_until_us"
LATE_DATA_WINDOW_US = US_PER_DAY
"""How far back an incremental rollup looks for late readings [µs] (retention catches the rest)."""

# Readings are indexed by (sensor, time) only. Going through the sensors table lets both
# databases answer a time range by one index range scan per sensor instead of reading the
# whole table (a second index on time alone would slow every ingest down). CROSS JOIN makes
# SQLite keep sensors as the outer loop; PostgreSQL plans it as any inner join.
_ROLLUP_SELECT = """
INSERT INTO rollups (sensor_key, bucket_s, start_us, count, sum, min, max)
SELECT r.sensor_key, {bucket_s}, r.time_us / {bucket_us} * {bucket_us},
       count(*), sum(r.value), min(r.value), max(r.value)
FROM sensors AS s CROSS JOIN readings AS r
WHERE r.sensor_key = s.key AND r.time_us >= :lo_us AND r.time_us < :hi_us
GROUP BY r.sensor_key, r.time_us / {bucket_us}
ON CONFLICT (sensor_key, bucket_s, start_us) DO UPDATE SET {update}
"""

_DELETE_RAW = """
DELETE FROM readings
WHERE sensor_key IN (SELECT key FROM sensors) AND time_us >= :lo_us AND time_us < :hi_us
"""

_REPLACE = "count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max"


def _merge(dialect: str) -> str:
    least, greatest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
    return (
        "count = rollups.count + excluded.count, sum = rollups.sum + excluded.sum, "
        f"min = {least}(rollups.min, excluded.min), max = {greatest}(rollups.max, excluded.max)"
    )


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run did."""

    raw_kept_from_us: int
    """New watermark: raw readings before it are gone (UTC midnight) [µs since epoch]."""
    deleted_readings: int
    """Raw readings deleted by this run (0 when re-run)."""
    late_readings_merged: int
    """Readings that arrived after their day was purged, added to the rollups."""


def get_state(conn: sa.Connection, name: str) -> int | None:
    """A named integer of ``store_state`` (``None`` when never set)."""
    value = conn.execute(
        sa.select(store_state.c.value).where(store_state.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def set_state(conn: sa.Connection, name: str, value: int) -> None:
    """Set a named integer of ``store_state``."""
    updated = conn.execute(
        sa.update(store_state).where(store_state.c.name == name).values(value=value)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(store_state).values(name=name, value=value))


def _aggregate(conn: sa.Connection, lo_us: int, hi_us: int, update: str) -> int:
    """Aggregate raw readings in [lo_us, hi_us) into every rollup size; rows written."""
    written = 0
    for bucket_s in ROLLUP_BUCKETS_S:
        bucket_us = bucket_s * US_PER_S
        hi_bucket = floor_us(hi_us, bucket_us)  # only finished buckets
        if hi_bucket <= lo_us:
            continue
        sql = _ROLLUP_SELECT.format(bucket_s=bucket_s, bucket_us=bucket_us, update=update)
        result = conn.execute(sa.text(sql), {"lo_us": lo_us, "hi_us": hi_bucket})
        written += max(result.rowcount, 0)
    return written


def rollup(conn: sa.Connection, until_us: int, since_us: int | None = None) -> int:
    """Recompute the rollups of buckets that finished before ``until_us``.

    Parameters
    ----------
    conn : connection in an open write transaction
    until_us : buckets ending at or before this time are rolled up [µs since epoch]
    since_us : first time to look at [µs]; default: one day before the previous run's
        ``until`` (to catch late readings), or everything kept when never run. Never earlier
        than the watermark (purged days are not recomputed from stray late rows).

    Returns
    -------
    int : rollup rows written
    """
    watermark = get_state(conn, WATERMARK)
    if since_us is None:
        previous = get_state(conn, ROLLED_UNTIL)
        since_us = None if previous is None else previous - LATE_DATA_WINDOW_US
    lo_us = max(v for v in (since_us, watermark, 0) if v is not None)
    lo_us = floor_us(lo_us, US_PER_DAY)  # whole buckets of every size
    written = _aggregate(conn, lo_us, until_us, _REPLACE)
    previous = get_state(conn, ROLLED_UNTIL)
    set_state(conn, ROLLED_UNTIL, until_us if previous is None else max(previous, until_us))
    return written


def apply_retention(conn: sa.Connection, raw_days: int, now_us: int) -> RetentionResult:
    """Roll up, then delete raw readings older than ``raw_days`` whole UTC days before ``now_us``.

    Runs in ``conn``'s open write transaction; re-running with the same or an earlier
    ``now_us`` changes nothing.
    """
    cutoff_us = floor_us(now_us, US_PER_DAY) - raw_days * US_PER_DAY
    old_watermark = get_state(conn, WATERMARK)
    late = 0
    if old_watermark is not None:
        _aggregate(conn, 0, old_watermark, _merge(conn.dialect.name))
        late = conn.execute(
            sa.text(_DELETE_RAW), {"lo_us": 0, "hi_us": old_watermark}
        ).rowcount
    new_watermark = cutoff_us if old_watermark is None else max(old_watermark, cutoff_us)
    deleted = 0
    lo_us = 0 if old_watermark is None else old_watermark
    if new_watermark > lo_us:
        _aggregate(conn, lo_us, new_watermark, _REPLACE)
        deleted = conn.execute(
            sa.text(_DELETE_RAW), {"lo_us": lo_us, "hi_us": new_watermark}
        ).rowcount
    set_state(conn, WATERMARK, new_watermark)
    return RetentionResult(new_watermark, deleted, late)
