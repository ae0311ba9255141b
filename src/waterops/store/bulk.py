"""Fast, idempotent writes of many readings (the hot path of every ingest).

Input is columnar: numpy arrays of sensor keys, times [µs since epoch, UTC], values [SI] and
quality flags. Duplicates (same sensor and time) are stored once, whichever arrives first;
out-of-order data is fine (the primary key is a B-tree, not an append log).

- SQLite: one prepared ``INSERT … ON CONFLICT DO NOTHING`` run with ``executemany`` on the raw
  driver cursor (no per-row work in SQLAlchemy).
- PostgreSQL: ``COPY`` cannot skip duplicates by itself, so there are two ways in.
  *New data* (the usual case: live telemetry, a CSV export of a new period): when no stored
  reading of the batch's sensors falls inside the batch's time span (one index probe per
  sensor), the batch is copied straight into ``readings``, under a savepoint. *Overlapping
  data* (a re-sent batch, a backfill), or a concurrent writer that got there first (the copy
  then fails on the primary key and is rolled back to the savepoint): binary ``COPY`` into a
  temporary table without index, then one ``INSERT … SELECT … ON CONFLICT DO NOTHING``.
  The staged way is about half as fast; the direct way runs at raw ``COPY`` speed.
  *Small batches* (an MQTT message, an HTTP post: up to :data:`PG_SMALL_BATCH_ROWS`) skip all
  that: one ``INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING``, one round trip.
  The binary COPY rows are laid out by numpy (a structured big-endian array), not formatted
  row by row in Python.

The caller passes readings sorted by (sensor, time) without duplicates inside the batch.
Both run inside the caller's transaction, so a batch is stored whole or not at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import sqlalchemy as sa

PG_SMALL_BATCH_ROWS = 5_000
"""Up to this many readings, PostgreSQL gets them as arrays in one statement, not by COPY."""
PG_COPY_CHUNK_ROWS = 1_000_000
"""Rows encoded and sent per write to the COPY stream (bounds the memory of a huge batch)."""

_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)

# One binary COPY tuple of (integer, bigint, double precision, smallint), as PostgreSQL
# documents it: field count, then for each field its byte length and big-endian bytes.
_PG_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("key_len", ">i4"), ("key", ">i4"),
        ("time_len", ">i4"), ("time", ">i8"),
        ("value_len", ">i4"), ("value", ">f8"),
        ("flags_len", ">i4"), ("flags", ">i2"),
    ]
)

SQLITE_INSERT = (
    "INSERT INTO readings (sensor_key, time_us, value, flags) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (sensor_key, time_us) DO NOTHING"
)


def encode_pg_binary_rows(
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> bytes:
    """Encode readings as PostgreSQL binary COPY tuples (no header or trailer)."""
    rows = np.empty(len(keys), dtype=_PG_ROW)
    rows["nfields"] = 4
    rows["key_len"] = 4
    rows["key"] = keys
    rows["time_len"] = 8
    rows["time"] = times_us
    rows["value_len"] = 8
    rows["value"] = values
    rows["flags_len"] = 2
    rows["flags"] = flags
    return rows.tobytes()


def copy_binary(
    dbapi_connection: Any,
    copy_sql: str,
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> None:
    """Stream readings through ``COPY … FROM STDIN (FORMAT BINARY)`` on a psycopg connection."""
    with dbapi_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.write(_PG_COPY_HEADER)
        for start in range(0, len(keys), PG_COPY_CHUNK_ROWS):
            stop = start + PG_COPY_CHUNK_ROWS
            copy.write(
                encode_pg_binary_rows(
                    keys[start:stop], times_us[start:stop], values[start:stop], flags[start:stop]
                )
            )
        copy.write(_PG_COPY_TRAILER)


def insert_readings(
    conn: sa.Connection,
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> int:
    """Insert readings, skipping those already stored; returns the number of new rows.

    Runs in ``conn``'s open transaction (the caller commits or rolls back).
    """
    if len(keys) == 0:
        return 0
    dbapi_connection = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":
        rows = zip(keys.tolist(), times_us.tolist(), values.tolist(), flags.tolist(), strict=True)
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(SQLITE_INSERT, rows)  # type: ignore[arg-type]  # any iterable
            return int(cursor.rowcount)
        finally:
            cursor.close()
    return _insert_postgres(dbapi_connection, keys, times_us, values, flags)


def _insert_postgres(
    dbapi_connection: Any,
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> int:
    if len(keys) <= PG_SMALL_BATCH_ROWS:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO readings (sensor_key, time_us, value, flags) "
                "SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::double precision[], "
                "%s::smallint[]) ON CONFLICT (sensor_key, time_us) DO NOTHING",
                (keys.tolist(), times_us.tolist(), values.tolist(), flags.tolist()),
            )
            return int(cursor.rowcount)
    if not _overlaps_stored(dbapi_connection, keys, times_us):
        try:
            with dbapi_connection.transaction():  # a savepoint inside the caller's transaction
                copy_binary(
                    dbapi_connection,
                    "COPY readings (sensor_key, time_us, value, flags) FROM STDIN (FORMAT BINARY)",
                    keys, times_us, values, flags,
                )
            return len(keys)
        except psycopg.errors.UniqueViolation:
            pass  # another writer stored some of these meanwhile: take the staged way
    return _insert_postgres_staged(dbapi_connection, keys, times_us, values, flags)


def _overlaps_stored(
    dbapi_connection: Any, keys: npt.NDArray[np.int64], times_us: npt.NDArray[np.int64]
) -> bool:
    """Whether any stored reading of the batch's sensors lies within the batch's time span."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # keys are sorted
    ends = np.r_[starts[1:], len(keys)] - 1
    with dbapi_connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM unnest(%s::integer[], %s::bigint[], %s::bigint[]) AS b(k, lo, hi) "
            "WHERE EXISTS (SELECT 1 FROM readings AS r WHERE r.sensor_key = b.k "
            "AND r.time_us BETWEEN b.lo AND b.hi) LIMIT 1",
            (keys[starts].tolist(), times_us[starts].tolist(), times_us[ends].tolist()),
        )
        return cursor.fetchone() is not None


def _insert_postgres_staged(
    dbapi_connection: Any,
    keys: npt.NDArray[np.int64],
    times_us: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    flags: npt.NDArray[np.int64],
) -> int:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE readings_incoming "
            "(sensor_key integer, time_us bigint, value double precision, flags smallint) "
            "ON COMMIT DROP"
        )
    copy_binary(
        dbapi_connection,
        "COPY readings_incoming (sensor_key, time_us, value, flags) FROM STDIN (FORMAT BINARY)",
        keys, times_us, values, flags,
    )
    with dbapi_connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO readings (sensor_key, time_us, value, flags) "
            "SELECT sensor_key, time_us, value, flags FROM readings_incoming "
            "ON CONFLICT (sensor_key, time_us) DO NOTHING"
        )
        inserted = int(cursor.rowcount)
        # Dropped at commit anyway; dropped now so a second batch in the same transaction works.
        cursor.execute("DROP TABLE readings_incoming")
    return inserted
