"""Migrations: a database holding data at revision 1 upgrades to head without loss."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from waterops.errors import StoreError
from waterops.model.telemetry import Quantity, Reading, Sensor
from waterops.store import TelemetryStore, migrate
from waterops.store.engine import create_store_engine

T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _database_at_revision_1(url: str, schema: str | None) -> sa.Engine:
    engine = create_store_engine(url, schema=schema)
    migrate.upgrade(engine, schema, "0001")
    assert migrate.current_revision(engine, schema) == "0001"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO water_systems (id, name) VALUES ('city', 'City')"))
        conn.execute(sa.text(
            "INSERT INTO sites (id, system_id, kind, name) "
            "VALUES ('plant-1', 'city', 'treatment_plant', 'Plant 1')"))
        conn.execute(sa.text(
            "INSERT INTO sensors (id, system_id, quantity, unit, site_id, element_kind, "
            "element_id, lower, upper, interval_s, name) VALUES "
            "('CL-OUT', 'city', 'chlorine', 'mg/L', 'plant-1', 'node', 'J9', 0.3, 2.0, 300, "
            "'Outlet chlorine')"))
        key = conn.execute(sa.text("SELECT key FROM sensors WHERE id = 'CL-OUT'")).scalar_one()
        conn.execute(
            sa.text("INSERT INTO readings (sensor_key, time_us, value, flags) "
                    "VALUES (:k, :t, :v, :f)"),
            [{"k": key, "t": T0_US + i * 300_000_000, "v": 0.5 + i / 100, "f": i % 2}
             for i in range(288)],
        )
        conn.execute(sa.text(
            "INSERT INTO dead_letters (received_at_us, source, payload, reason) "
            f"VALUES ({T0_US}, 'mqtt', 'xx', 'not JSON')"))
    return engine


def test_upgrade_from_revision_1_keeps_every_row(store_url: tuple[str, str | None]) -> None:
    url, schema = store_url
    engine = _database_at_revision_1(url, schema)
    try:
        with pytest.raises(StoreError, match="revision 0001"):
            TelemetryStore.open(url, schema=schema, migrate_to_head=False)
        with TelemetryStore.open(url, schema=schema) as store:
            assert migrate.current_revision(store.engine, schema) == migrate.head_revision()
            sensor = store.get_sensor("CL-OUT")
            assert sensor == Sensor("CL-OUT", "city", Quantity.CHLORINE, "plant-1", "node", "J9",
                                    0.3, 2.0, 300.0, "Outlet chlorine")
            stored = store.readings("CL-OUT")
            assert len(stored) == 288
            assert stored["value"].tolist() == [0.5 + i / 100 for i in range(288)]
            assert stored["flags"].tolist() == [i % 2 for i in range(288)]
            assert stored["time"].iloc[0] == datetime(2026, 1, 1, tzinfo=UTC)
            assert store.count_dead_letters() == 1
            # the new revision's features work on the old data
            assert store.rollup(datetime(2026, 1, 2, tzinfo=UTC)) > 0
            assert store.rollups("CL-OUT", 86400)["count"].tolist() == [288]
            new = Reading("CL-OUT", datetime(2026, 1, 2, tzinfo=UTC), 0.6)
            assert store.write_readings([new]) == 1
        # opening again at head changes nothing
        with TelemetryStore.open(url, schema=schema, migrate_to_head=False) as store:
            assert len(store.readings("CL-OUT")) == 289
    finally:
        engine.dispose()


def test_head_is_the_newest_revision() -> None:
    """The revisions form one unbroken chain (one head, one base) and head is its newest."""
    import importlib
    import pkgutil

    import waterops.store.migrations.versions as versions

    parents: dict[str, str | None] = {}
    for info in pkgutil.iter_modules(versions.__path__):
        module = importlib.import_module(f"{versions.__name__}.{info.name}")
        parents[module.revision] = module.down_revision
    children = {parent for parent in parents.values() if parent is not None}
    heads = [rev for rev in parents if rev not in children]
    assert len(heads) == 1, f"several heads: {heads}"
    assert [rev for rev, parent in parents.items() if parent is None] == ["0001"]
    chain, rev = [], heads[0]
    while rev is not None:
        chain.append(rev)
        rev = parents[rev]
    assert sorted(chain) == sorted(parents)  # every revision lies on the one chain
    assert migrate.head_revision() == heads[0] == max(parents)


def test_processes_opening_a_fresh_database_at_once(store_url: tuple[str, str | None]) -> None:
    import threading

    url, schema = store_url
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def open_it() -> None:
        try:
            start.wait()
            TelemetryStore.open(url, schema=schema).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "opening the store hung"
    assert errors == []
    with TelemetryStore.open(url, schema=schema, migrate_to_head=False) as store:
        assert store.sensors() == []
