"""Read queries: latest value per sensor, resampling into intervals (bucket arithmetic in SQL).

Buckets are aligned to the UTC epoch: a 15-minute bucket starts at :00, :15, :30, :45 UTC and
a daily bucket at 00:00 UTC. A bucket's start is ``time_us / every_us * every_us`` (integer
division, the same on SQLite and PostgreSQL). With a UTC offset (days of Asia/Shanghai,
UTC+8) the clock is shifted first: ``(time_us + off_us) / every_us * every_us - off_us``.
Bucket sizes and offsets are validated integers written into the SQL text, so the select list
and the GROUP BY are the same expression for the planner.
"""

from __future__ import annotations

import sqlalchemy as sa

from waterops.store.tables import ROLLUP_BUCKETS_S

LATEST_SQL = """
SELECT s.id AS sensor_id, r.time_us, r.value, r.flags
FROM sensors AS s
JOIN readings AS r ON r.sensor_key = s.key
WHERE r.time_us = (SELECT max(x.time_us) FROM readings AS x WHERE x.sensor_key = s.key)
{sensor_filter}
ORDER BY s.id
"""


def latest_query(sensor_filter: bool) -> sa.TextClause:
    """Latest reading of each sensor (optionally of ``:sensor_ids`` only).

    The correlated ``max`` is answered from the primary-key index (sensor_key, time_us): one
    index probe per sensor, whatever the table's size.
    """
    text = LATEST_SQL.format(sensor_filter="AND s.id IN :sensor_ids" if sensor_filter else "")
    query = sa.text(text)
    if sensor_filter:
        query = query.bindparams(sa.bindparam("sensor_ids", expanding=True))
    return query


def raw_resample_query(every_us: int, offset_us: int = 0) -> sa.TextClause:
    """Mean, min, max and count of one sensor's raw readings per bucket in [start, end)."""
    every, off = int(every_us), int(offset_us)
    shifted = f"(time_us + {off})" if off else "time_us"
    return sa.text(
        f"""
        SELECT {shifted} / {every} * {every} - {off} AS start_us,
               avg(value) AS mean, min(value) AS min, max(value) AS max, count(*) AS count
        FROM readings
        WHERE sensor_key = :sensor_key AND time_us >= :start_us AND time_us < :end_us
        GROUP BY {shifted} / {every}
        ORDER BY 1
        """
    )


def mixed_resample_query(
    every_us: int, rollup_bucket_s: int, offset_us: int = 0
) -> sa.TextClause:
    """Like :func:`raw_resample_query`, with rollups standing in where raw rows were purged.

    Raw readings count from ``:kept_from_us`` (the retention watermark); before it the
    ``rollup_bucket_s`` rollups (which divide ``every_us``) are merged in by count and sum.
    """
    every, bucket, off = int(every_us), int(rollup_bucket_s), int(offset_us)
    return sa.text(
        f"""
        SELECT b * {every} - {off} AS start_us,
               sum(s) / CAST(sum(n) AS DOUBLE PRECISION) AS mean,
               min(lo) AS min, max(hi) AS max, sum(n) AS count
        FROM (
            SELECT (time_us + {off}) / {every} AS b, 1 AS n, value AS s, value AS lo, value AS hi
            FROM readings
            WHERE sensor_key = :sensor_key AND time_us >= :start_us AND time_us < :end_us
              AND time_us >= :kept_from_us
            UNION ALL
            SELECT (start_us + {off}) / {every} AS b, count AS n, sum AS s, min AS lo, max AS hi
            FROM rollups
            WHERE sensor_key = :sensor_key AND bucket_s = {bucket}
              AND start_us >= :start_us AND start_us < :end_us AND start_us < :kept_from_us
        ) AS parts
        GROUP BY b
        ORDER BY b
        """
    )


def rollup_bucket_for(every_s: int, offset_s: int = 0) -> int | None:
    """The coarsest rollup bucket that divides ``every_s`` and ``offset_s`` [s], or ``None``.

    Such rollup buckets lie wholly inside one resampling interval.
    """
    fitting = [b for b in ROLLUP_BUCKETS_S if every_s % b == 0 and offset_s % b == 0]
    return max(fitting) if fitting else None
