"""Where the database lives and how connections are set up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from waterops.errors import ConfigError, StoreError
from waterops.model.telemetry import WaterSystem
from waterops.store import TelemetryStore
from waterops.store.engine import create_store_engine, resolve_url


def test_default_store_is_sqlite_in_the_data_dir(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "not-yet" / "data"
    monkeypatch.setenv("WATEROPS_DATA_DIR", str(data_dir))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    with TelemetryStore.open() as store:
        store.upsert_systems([WaterSystem("city", "City")])
        assert store.dialect == "sqlite"
    assert (data_dir / "waterops.db").is_file()
    assert os.listdir(workdir) == []


def test_database_url_from_the_environment(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.db"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", f"sqlite:///{path}")
    assert resolve_url(None) == f"sqlite:///{path}"
    with TelemetryStore.open() as store:
        assert store.systems() == []
    assert path.is_file()


def test_plain_postgresql_url_gets_the_psycopg_driver() -> None:
    assert resolve_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_unsupported_or_unshareable_databases_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        create_store_engine("sqlite://")
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL"):
        create_store_engine("mysql://u@h/db")
    with pytest.raises(ConfigError, match="only be given for PostgreSQL"):
        create_store_engine(f"sqlite:///{tmp_path / 'x.db'}", schema="s")


def test_bad_schema_name_is_refused(postgres_server_url: str) -> None:
    with pytest.raises(ConfigError, match="not a plain identifier"):
        create_store_engine(postgres_server_url, schema='x"; DROP TABLE y; --')


def test_schemas_keep_stores_apart(postgres_server_url: str) -> None:
    import uuid

    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        with TelemetryStore.open(postgres_server_url, schema=names[0]) as a, \
                TelemetryStore.open(postgres_server_url, schema=names[1]) as b:
            a.upsert_systems([WaterSystem("city", "City")])
            assert [s.id for s in a.systems()] == ["city"]
            assert b.systems() == []
        engine = sa.create_engine(postgres_server_url)
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :s ORDER BY 1"), {"s": names[0]}
            ).scalars().all()
        assert "alembic_version" in tables and "readings" in tables
    finally:
        engine = sa.create_engine(postgres_server_url)
        with engine.begin() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


def test_unreachable_postgresql_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot"):
        TelemetryStore.open("postgresql+psycopg://postgres@127.0.0.1:1/test", schema="s")


def test_database_faults_are_store_errors_naming_the_action(
    store_url: tuple[str, str | None],
) -> None:
    from datetime import UTC, datetime

    from waterops.model.telemetry import Quantity, Reading, Sensor

    url, schema = store_url
    with TelemetryStore.open(url, schema=schema) as store:
        store.upsert_systems([WaterSystem("city", "City")])
        store.upsert_sensors([Sensor("P1", "city", Quantity.PRESSURE)])
        with store.engine.begin() as conn:  # someone broke the database under the store
            conn.exec_driver_sql("DROP TABLE readings")
        with pytest.raises(StoreError, match=r"cannot write readings: .*readings") as caught:
            store.write_readings([Reading("P1", datetime(2026, 5, 1, tzinfo=UTC), 1.0)])
        assert caught.value.__cause__ is not None
        with pytest.raises(StoreError, match="cannot read latest values"):
            store.latest()
