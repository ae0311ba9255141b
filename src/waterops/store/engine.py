"""Database engines by URL: an SQLite file in the data directory, or PostgreSQL.

SQLite is set up for a store that several processes write to (MQTT ingest, CSV ingest, the
retention job): WAL journal so readers never block the writer, foreign keys on, a busy
timeout instead of an immediate "database is locked", and write transactions that take the
write lock at BEGIN (``BEGIN IMMEDIATE``) so a read-then-write transaction cannot fail half-way
on a lock upgrade. ``synchronous`` stays FULL: a committed (acknowledged) reading survives a
power cut, not only a crash of the process.

PostgreSQL may be given a *schema*: every connection gets it as ``search_path`` (through the
libpq ``options`` parameter, so it holds for the whole session and survives rollbacks), and the
schema is created when missing. The test suite runs each test in its own schema.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from waterops.config import load_settings
from waterops.errors import ConfigError, StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for another writer's lock before failing [ms]."""

WRITE_OPTION = "waterops_write"
"""Execution option marking a connection whose transactions will write (SQLite: BEGIN IMMEDIATE)."""

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def resolve_url(url: str | None) -> str:
    """The database URL: ``url``, else ``WATEROPS_DATABASE_URL``, else SQLite in the data dir.

    A bare ``postgresql://`` URL is given the psycopg 3 driver, the one waterops installs.
    """
    if url is None:
        url = load_settings().database_url
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def check_schema_name(schema: str) -> str:
    """Return ``schema`` if it is a plain SQL identifier (it is quoted into DDL)."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(
            f"database schema {schema!r} is not a plain identifier (letters, digits, underscore)"
        )
    return schema


def create_store_engine(url: str, *, schema: str | None = None) -> sa.Engine:
    """Create the SQLAlchemy engine of the store.

    Parameters
    ----------
    url : SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://user@host:port/db``)
    schema : PostgreSQL schema holding the tables (created if missing); not allowed for SQLite
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ConfigError("a database schema can only be given for PostgreSQL, not SQLite")
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return _postgres_engine(parsed, schema)
    raise ConfigError(
        f"unsupported database {url!r}: waterops stores telemetry in SQLite or PostgreSQL"
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    database = url.database
    if not database or database == ":memory:":
        raise ConfigError(
            "an in-memory SQLite database cannot be shared by the ingest processes; "
            "give a file, e.g. sqlite:////var/lib/waterops/waterops.db"
        )
    path = Path(database).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the directory of the database {path}: {exc}") from exc
    engine = sa.create_engine(url.set(database=str(path)))

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by the "begin" hook below, not by the driver's guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # the timeout first: switching a fresh file to WAL takes a lock another opener may hold
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL, waiting (up to the busy timeout) for other openers.

    SQLite does not call its busy handler for a journal-mode change: a fresh database opened
    by several processes at once answers "database is locked" at once to all but one of them.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay_s = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 0.25)


def _postgres_engine(url: sa.URL, schema: str | None) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if schema is not None:
        check_schema_name(schema)
        connect_args["options"] = f"-csearch_path={schema}"
    engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if schema is not None:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        except sa.exc.OperationalError as exc:
            engine.dispose()
            where = url.render_as_string()
            raise StoreError(f"cannot reach PostgreSQL at {where}: {exc.orig}") from exc
    return engine
