"""The alarm service on a real database (SQLite and PostgreSQL): raise, de-duplicate, group,
acknowledge, assign, resolve, auto-clear; bus events and the audit trail for every action."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from waterops.errors import AlarmError, AlarmTransitionError
from waterops.model.alarms import Alarm, AlarmSignal, AlarmState, Cause, IncidentState, Severity
from waterops.service.alarms import AlarmService, AlarmSettings, KindPolicy
from waterops.service.events import (
    AlarmRaised,
    AlarmStateChanged,
    AlarmUpdated,
    Event,
    EventBus,
    IncidentOpened,
    IncidentUpdated,
)
from waterops.store.alarms_store import AlarmStore

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def alarm_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AlarmStore]:
    """A migrated, empty store of each backend."""
    if request.param == "sqlite":
        opened = AlarmStore.open(f"sqlite:///{tmp_path / 'alarms.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        opened = AlarmStore.open(url, schema=schema)
    try:
        yield opened
    finally:
        opened.close()


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture()
def service(alarm_store: AlarmStore) -> AlarmService:
    return AlarmService(alarm_store, EventBus(), clock=Clock())


@pytest.fixture()
def seen(service: AlarmService) -> list[Event]:
    events: list[Event] = []
    service.bus.subscribe(Event, events.append)
    return events


def signal(source: str = "P-1", *, active: bool = True, minutes: float = 0.0,
           value: float = 9.0, group: str = "dma:DMA-04", kind: str = "low_pressure",
           severity: Severity = Severity.MAJOR, diagnosis: str | None = None) -> AlarmSignal:
    return AlarmSignal(kind, source, "pressure>=14.3", active, T0 + timedelta(minutes=minutes),
                       severity, group, value, "m", f"low pressure at {source}",
                       f"{source}压力偏低", diagnosis)


def test_a_repeated_condition_updates_the_open_alarm(service: AlarmService,
                                                     seen: list[Event]) -> None:
    first = service.report(signal(value=9.0))
    again = service.report(signal(minutes=5, value=7.5))
    third = service.report(signal(minutes=10, value=8.0, diagnosis="upstream_network_low"))
    assert first is not None and again is not None and third is not None
    assert first.id == again.id == third.id
    assert len(service.alarms()) == 1
    stored = service.alarm(first.id)
    assert stored.count == 3 and stored.value == 8.0 and stored.worst_value == 7.5
    assert stored.diagnosis == "upstream_network_low"
    assert [type(e) for e in seen] == [AlarmRaised, IncidentOpened, AlarmUpdated,
                                       IncidentUpdated, AlarmUpdated]
    # the change of diagnosis is in the history and the audit trail, the plain repeat is not
    history = service.store.history(first.id)
    assert [h["action"] for h in history] == ["raise", "update"]
    audit = service.store.audit("alarm", first.id)
    assert audit[-1].before == {"diagnosis": None, "severity": "major"}
    assert audit[-1].after["diagnosis"] == "upstream_network_low"


def test_alarms_of_one_cause_make_one_incident(service: AlarmService, seen: list[Event]) -> None:
    a = service.report(signal("P-1", severity=Severity.MINOR))
    b = service.report(signal("P-2", minutes=20, severity=Severity.CRITICAL))
    other = service.report(signal("P-9", minutes=25, group="dma:DMA-07"))
    late = service.report(signal("P-3", minutes=6 * 60))  # outside the 2-h window
    assert a and b and other and late
    assert a.incident_id == b.incident_id
    assert len({a.incident_id, other.incident_id, late.incident_id}) == 3
    assert a.incident_id is not None
    incident = service.store.incident(a.incident_id)
    assert incident.alarm_ids == (a.id, b.id)
    assert incident.severity is Severity.CRITICAL  # that of its most severe alarm
    assert sum(isinstance(e, IncidentOpened) for e in seen) == 3


def test_operators_work_an_alarm_and_every_action_is_audited(service: AlarmService,
                                                             seen: list[Event]) -> None:
    alarm = service.report(signal())
    assert alarm is not None
    acked = service.acknowledge(alarm.id, by="Wang")
    assigned = service.assign(alarm.id, to="Crew 3", by="Wang")
    handed = service.assign(alarm.id, to="Crew 5", by="Zhao", note="crew 3 on another job")
    resolved = service.resolve(alarm.id, "booster_fault", by="Zhao", note="relay replaced")
    assert (acked.state, assigned.state, handed.state, resolved.state) == (
        AlarmState.ACKNOWLEDGED, AlarmState.ASSIGNED, AlarmState.ASSIGNED, AlarmState.RESOLVED)
    stored = service.alarm(alarm.id)
    assert stored.acknowledged_by == "Wang" and stored.assignee == "Crew 5"
    assert stored.cause is Cause.BOOSTER_FAULT and stored.resolved_by == "Zhao"
    assert stored.note == "relay replaced" and stored.resolved_at is not None
    audit = service.store.audit("alarm", alarm.id)
    assert [(e.actor, e.action) for e in audit] == [
        ("waterops", "raise"), ("Wang", "acknowledge"), ("Wang", "assign"),
        ("Zhao", "assign"), ("Zhao", "resolve")]
    assert audit[1].before == {"state": "raised", "acknowledged_by": None}
    assert audit[1].after == {"state": "acknowledged", "acknowledged_by": "Wang"}
    assert audit[3].before["assignee"] == "Crew 3" and audit[3].after["assignee"] == "Crew 5"
    assert audit[4].after["cause"] == "booster_fault"
    assert all(e.at > T0 for e in audit[1:])  # operator actions are stamped by the clock
    history = service.store.history(alarm.id)
    assert [(h["state_before"], h["state_after"]) for h in history] == [
        (None, "raised"), ("raised", "acknowledged"), ("acknowledged", "assigned"),
        ("assigned", "assigned"), ("assigned", "resolved")]
    assert history[3]["detail"] == "to Crew 5: crew 3 on another job"
    changes = [e for e in seen if isinstance(e, AlarmStateChanged)]
    assert [(e.before, e.action.value, e.actor) for e in changes] == [
        (AlarmState.RAISED, "acknowledge", "Wang"), (AlarmState.ACKNOWLEDGED, "assign", "Wang"),
        (AlarmState.ASSIGNED, "assign", "Zhao"), (AlarmState.ASSIGNED, "resolve", "Zhao")]
    # its incident had no other alarm: resolved with the same cause, and audited
    assert alarm.incident_id is not None
    incident = service.store.incident(alarm.incident_id)
    assert incident.state is IncidentState.RESOLVED and incident.cause is Cause.BOOSTER_FAULT
    assert service.store.audit("incident", incident.id)[-1].actor == "Zhao"


def test_invalid_operator_actions_are_refused_and_leave_no_trace(service: AlarmService,
                                                                 seen: list[Event]) -> None:
    alarm = service.report(signal())
    assert alarm is not None
    service.acknowledge(alarm.id, by="Wang")
    before_audit = len(service.store.audit())
    count = len(seen)
    with pytest.raises(AlarmTransitionError, match="is acknowledged: cannot acknowledge"):
        service.acknowledge(alarm.id, by="Wang")
    with pytest.raises(AlarmError, match="unknown cause code"):
        service.resolve(alarm.id, "gremlins", by="Wang")
    with pytest.raises(AlarmError, match="needs a name"):
        service.acknowledge(alarm.id, by=" ")
    with pytest.raises(AlarmError, match="assign to whom"):
        service.assign(alarm.id, to="", by="Wang")
    with pytest.raises(AlarmError, match="no alarm with id 4242"):
        service.acknowledge(4242, by="Wang")
    service.resolve(alarm.id, Cause.FALSE_ALARM, by="Wang")
    with pytest.raises(AlarmTransitionError, match="closed for good"):
        service.assign(alarm.id, to="Crew 1", by="Wang")
    assert len(service.store.audit()) == before_audit + 2  # the resolve and its incident
    assert len(seen) == count + 2


def test_conditions_that_end_clear_close_or_stay_by_kind(alarm_store: AlarmStore) -> None:
    settings = AlarmSettings(policies={"low_pressure": KindPolicy(auto_clear=True,
                                                                  auto_close=True),
                                       "burst": KindPolicy(auto_clear=False)},
                             default_policy=KindPolicy(auto_clear=True, auto_close=False))
    service = AlarmService(alarm_store, settings=settings, clock=Clock())
    # untouched low-pressure dip: cleared and closed by itself, its incident resolved
    dip = service.report(signal("P-1"))
    closed = service.report(signal("P-1", active=False, minutes=5))
    assert dip and closed and closed.state is AlarmState.CLOSED
    assert [h["action"] for h in alarm_store.history(dip.id)] == ["raise", "clear", "close"]
    assert dip.incident_id is not None
    assert alarm_store.incident(dip.incident_id).state is IncidentState.RESOLVED
    # acknowledged: cleared but kept for the operator, who resolves it
    seen_dip = service.report(signal("P-2", group="dma:DMA-09"))
    assert seen_dip is not None
    service.acknowledge(seen_dip.id, by="Wang")
    kept = service.report(signal("P-2", active=False, minutes=5, group="dma:DMA-09"))
    assert kept and kept.state is AlarmState.CLEARED and kept.cleared_at is not None
    # the condition comes back before anyone closed it: the same alarm reopens
    back = service.report(signal("P-2", minutes=9, value=8.0, group="dma:DMA-09"))
    assert back and back.id == seen_dip.id and back.state is AlarmState.RAISED
    assert back.cleared_at is None and back.count == 2
    # a burst does not mend itself: the "ended" signal changes nothing
    burst = service.report(signal("DMA-04", kind="burst"))
    assert burst is not None
    assert service.report(signal("DMA-04", kind="burst", active=False)) is None
    assert service.alarm(burst.id).state is AlarmState.RAISED
    # an "ended" signal with no alarm is nothing
    assert service.report(signal("P-77", active=False)) is None


def test_resolving_an_incident_resolves_its_open_alarms(service: AlarmService) -> None:
    a = service.report(signal("P-1"))
    b = service.report(signal("P-2", minutes=3))
    assert a and b and a.incident_id == b.incident_id and a.incident_id is not None
    service.resolve(a.id, Cause.PIPE_BURST, by="Li")
    assert service.store.incident(a.incident_id).state is IncidentState.OPEN
    incident = service.resolve_incident(a.incident_id, "pipe_burst", by="Li", note="clamped")
    assert incident.state is IncidentState.RESOLVED and incident.cause is Cause.PIPE_BURST
    assert service.alarm(b.id).state is AlarmState.RESOLVED
    assert service.alarm(b.id).note == "clamped"
    with pytest.raises(AlarmError, match="already resolved"):
        service.resolve_incident(a.incident_id, "pipe_burst", by="Li")


def test_two_detectors_raising_one_condition_at_once_make_one_alarm(
    alarm_store: AlarmStore,
) -> None:
    services = [AlarmService(alarm_store) for _ in range(4)]
    start = threading.Barrier(len(services))
    errors: list[BaseException] = []

    def raise_it(service: AlarmService) -> None:
        try:
            start.wait()
            service.report(signal("P-1"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=raise_it, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    alarms = alarm_store.alarms()
    # serialised by the write lock (SQLite) or by the unique index and one retry (PostgreSQL)
    assert errors == []
    assert len(alarms) == 1 and alarms[0].count == 4
    assert [a.action for a in alarm_store.audit("alarm", alarms[0].id)] == ["raise"]


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus = EventBus()
    got: list[str] = []

    def broken(_: Event) -> None:
        raise RuntimeError("socket closed")

    bus.subscribe(Event, broken)
    unsubscribe = bus.subscribe(IncidentOpened, lambda e: got.append("incident"))
    bus.subscribe(AlarmRaised, lambda e: got.append("raised"))

    alarm = Alarm(1, "k", "s", "c", Severity.MINOR, AlarmState.RAISED, T0, T0)
    bus.publish(AlarmRaised(alarm))
    assert got == ["raised"] and bus.handler_errors == 1
    unsubscribe()
    unsubscribe()
    assert bus.subscriber_count == 2
