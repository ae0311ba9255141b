"""Alarm tables: the r0003 migration keeps telemetry, the repository round-trips alarms, the
database refuses a second live alarm with one key (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from waterops.errors import AlarmError, StoreError
from waterops.model.alarms import Alarm, AlarmState, Cause, Evidence, Severity
from waterops.store import TelemetryStore, migrate
from waterops.store.alarms_store import AlarmStore
from waterops.store.engine import create_store_engine

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
T0_US = 1_767_232_800_000_000


def _alarm(**changes: object) -> Alarm:
    base = dict(id=0, kind="pump_room_low_pressure", source="PR03", condition="pressure>=14.3",
                severity=Severity.MAJOR, state=AlarmState.RAISED, raised_at=T0, updated_at=T0,
                group_key="pump_room:PR03", value=9.5, worst_value=9.5, unit="m",
                message="Booster of pump room 3 stopped at 10:02; repair under way",
                message_zh="3号泵房增压泵10:02停机，抢修中", diagnosis="booster_fault",
                evidence=(Evidence("S-PR03-P1", "pump_status", 0.0, "1", T0, "stopped"),))
    base.update(changes)
    return Alarm(**base)  # type: ignore[arg-type]


def test_upgrade_from_revision_2_keeps_readings_and_adds_alarm_tables(
    store_url: tuple[str, str | None],
) -> None:
    url, schema = store_url
    engine = create_store_engine(url, schema=schema)
    try:
        migrate.upgrade(engine, schema, "0002")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO water_systems (id, name) VALUES ('city', 'City')"))
            conn.execute(sa.text(
                "INSERT INTO sensors (id, system_id, quantity, unit, name, attributes) VALUES "
                "('P-PR03-HIGHZONE', 'city', 'pressure', 'm', 'PR03 high zone', '{}')"))
            key = conn.execute(sa.text("SELECT key FROM sensors")).scalar_one()
            conn.execute(sa.text("INSERT INTO readings (sensor_key, time_us, value, flags) "
                                 "VALUES (:k, :t, :v, 0)"),
                         [{"k": key, "t": T0_US + i * 60_000_000, "v": 20.0 + i / 10}
                          for i in range(120)])
        with pytest.raises(StoreError, match="revision 0002"):
            TelemetryStore.open(url, schema=schema, migrate_to_head=False)
        with TelemetryStore.open(url, schema=schema) as store:
            assert migrate.current_revision(store.engine, schema) == migrate.head_revision()
            values = store.readings("P-PR03-HIGHZONE")["value"].tolist()
            assert values == [20.0 + i / 10 for i in range(120)]
            alarms = AlarmStore(store.engine)
            with alarms.transaction() as tx:
                stored = tx.insert_alarm(_alarm())
            assert alarms.alarm(stored.id) == stored
    finally:
        engine.dispose()


def test_alarms_round_trip_with_evidence_and_incident(store: TelemetryStore) -> None:
    alarms = AlarmStore(store.engine)
    with alarms.transaction() as tx:
        incident = tx.insert_incident("pump_room:PR03", "PR03 low pressure", Severity.MAJOR, T0)
        first = tx.insert_alarm(_alarm(incident_id=incident.id))
        tx.add_history(first.id, T0, "raise", "waterops", None, AlarmState.RAISED, "raised")
        tx.add_audit(T0, "waterops", "raise", "alarm", first.id, {}, {"state": "raised"})
    assert first.id > 0
    read = alarms.alarm(first.id)
    assert read == first
    assert read.evidence[0].time == T0 and read.message_zh.startswith("3号泵房")
    assert alarms.incident(incident.id).alarm_ids == (first.id,)
    assert alarms.alarms([AlarmState.RAISED]) == [first]
    assert alarms.alarms([AlarmState.RESOLVED]) == []
    assert [h["action"] for h in alarms.history(first.id)] == ["raise"]
    assert alarms.audit("alarm", first.id)[0].after == {"state": "raised"}
    resolved = _alarm(id=first.id, state=AlarmState.RESOLVED, cause=Cause.BOOSTER_FAULT,
                      resolved_by="Li", resolved_at=T0, incident_id=incident.id)
    with alarms.transaction() as tx:
        tx.update_alarm(resolved)
    assert alarms.alarm(first.id) == resolved
    with pytest.raises(AlarmError, match="no alarm with id 999"):
        alarms.alarm(999)
    with pytest.raises(AlarmError, match="no incident with id 999"):
        alarms.incident(999)


def test_the_database_refuses_two_live_alarms_with_one_key(store: TelemetryStore) -> None:
    alarms = AlarmStore(store.engine)
    with alarms.transaction() as tx:
        first = tx.insert_alarm(_alarm())
    with pytest.raises(StoreError, match="cannot write alarms"), alarms.transaction() as tx:
        tx.insert_alarm(_alarm())
    assert len(alarms.alarms()) == 1  # nothing half-written
    # once the first is final, the same condition may raise a new alarm
    with alarms.transaction() as tx:
        tx.update_alarm(_alarm(id=first.id, state=AlarmState.CLOSED))
        tx.insert_alarm(_alarm())
    assert len(alarms.alarms()) == 2
