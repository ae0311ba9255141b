"""The alarm service: alarms raised from detections, de-duplicated, grouped into incidents,
worked by operators, with every change on the event bus and in the audit trail.

- **Raise / de-duplicate.** :meth:`AlarmService.report` takes an
  :class:`~waterops.model.alarms.AlarmSignal`. While an alarm with the same (kind, source,
  condition) is open, a repeat updates it (value, worst value, count, diagnosis); a new alarm
  is raised only when there is none. A *cleared* alarm whose condition comes back is reopened,
  not duplicated (no alarm flood from a value hovering at its limit).
- **Group.** A new alarm joins the open incident with the same ``group_key`` (same pump room,
  same DMA, same pipe) updated within ``group_window_s``; otherwise it opens a new incident.
- **Clear.** When a detector says the condition ended, the alarm is cleared if its kind
  auto-clears (:class:`KindPolicy`), and closed as well if nobody has touched it and its kind
  auto-closes. A burst does not mend itself: its kind does not auto-clear.
- **Operators** acknowledge, assign (to a person or crew), resolve with a
  :class:`~waterops.model.alarms.Cause`; an incident is resolved when its last alarm is.
- Every operation is one database transaction (alarm, history, incident, audit line); the
  events go on the :class:`~waterops.service.events.EventBus` after it is committed.

The audit trail records every action, the system's own (actor ``"waterops"``) as well as the
operators', with the fields it changed before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from waterops.errors import AlarmConflictError, AlarmError
from waterops.model.alarms import (
    Alarm,
    AlarmAction,
    AlarmSignal,
    AlarmState,
    Cause,
    Incident,
    IncidentState,
    most_severe,
    parse_cause,
)
from waterops.service.events import (
    AlarmRaised,
    AlarmStateChanged,
    AlarmUpdated,
    Event,
    EventBus,
    IncidentOpened,
    IncidentUpdated,
)
from waterops.store.alarms_store import AlarmStore, AlarmTransaction, alarm_fields_text

SYSTEM_ACTOR = "waterops"
"""Actor name of automatic actions (raise, clear, reopen, close) in history and audit."""


@dataclass(frozen=True, slots=True)
class KindPolicy:
    """How alarms of one kind end.

    Attributes
    ----------
    auto_clear : the alarm is cleared when the detector says the condition ended
    auto_close : a cleared alarm nobody acknowledged or assigned is closed at once
    """

    auto_clear: bool = True
    auto_close: bool = False


DEFAULT_POLICIES: dict[str, KindPolicy] = {
    # a burst or a leak stays until a crew repairs it and says so
    "burst": KindPolicy(auto_clear=False),
    "leak": KindPolicy(auto_clear=False),
    # a quality breach that ends by itself still needs a person to look at why
    "water_quality_limit": KindPolicy(auto_clear=True, auto_close=False),
    "pump_room_low_pressure": KindPolicy(auto_clear=True, auto_close=False),
    # a short low-pressure dip that nobody picked up is history, not a job
    "low_pressure": KindPolicy(auto_clear=True, auto_close=True),
}


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    """Settings of the alarm service.

    Attributes
    ----------
    group_window_s : a new alarm joins an open incident of its group updated this recently [s]
    policies : per alarm kind, how it ends (kinds not listed use ``default_policy``)
    default_policy : policy of unlisted kinds
    """

    group_window_s: float = 2 * 3600.0
    policies: Mapping[str, KindPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    default_policy: KindPolicy = KindPolicy()

    def policy(self, kind: str) -> KindPolicy:
        """The policy of alarms of ``kind``."""
        return self.policies.get(kind, self.default_policy)


def _now() -> datetime:
    return datetime.now(UTC)


_OPERATOR_FIELDS = ("state", "acknowledged_by", "assignee", "resolved_by", "cause", "note",
                    "resolved_at")


class AlarmService:
    """Alarms and incidents, as the operations centre works them.

    Parameters
    ----------
    store : where alarms, incidents, history and audit live
    bus : where events go (a new bus if not given; subscribe to :attr:`bus`)
    settings : grouping window and per-kind policies
    clock : current time for operator actions (timezone-aware UTC; tests and replays pass one)
    """

    def __init__(self, store: AlarmStore, bus: EventBus | None = None,
                 settings: AlarmSettings | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.bus = bus if bus is not None else EventBus()
        self.settings = settings or AlarmSettings()
        self.clock = clock

    # -- detections ----------------------------------------------------------------------------

    def report(self, signal: AlarmSignal) -> Alarm | None:
        """Take one detector signal; returns the alarm it raised, updated, cleared or reopened
        (``None`` when an "ended" signal finds no open alarm, or its kind does not auto-clear).
        """
        for attempt in range(2):
            events: list[Event] = []
            try:
                with self.store.transaction() as tx:
                    live = tx.live_alarm(*signal.key)
                    alarm: Alarm | None
                    if signal.active:
                        alarm = self._on_active(tx, signal, live, events)
                    else:
                        alarm = self._on_ended(tx, signal, live, events)
            except AlarmConflictError:
                # another detector process raised the same alarm between our look and our
                # insert (the database's unique key refused ours): look again, it is a repeat
                if attempt:
                    raise
                continue
            self._publish(events)
            return alarm
        raise AssertionError("unreachable")  # pragma: no cover

    def report_many(self, signals: Iterable[AlarmSignal]) -> list[Alarm]:
        """:meth:`report` each signal in turn; the alarms touched."""
        out = []
        for signal in signals:
            alarm = self.report(signal)
            if alarm is not None:
                out.append(alarm)
        return out

    def _on_active(self, tx: AlarmTransaction, signal: AlarmSignal, live: Alarm | None,
                   events: list[Event]) -> Alarm:
        if live is None:
            return self._raise(tx, signal, events)
        if live.state is AlarmState.CLEARED:
            return self._reopen(tx, live, signal, events)
        updated = replace(
            live, updated_at=signal.time, count=live.count + 1,
            value=signal.value if signal.value is not None else live.value,
            worst_value=_worst(live.worst_value, signal.value, signal.worse_when_lower),
            severity=most_severe([live.severity, signal.severity]),
            diagnosis=signal.diagnosis or live.diagnosis,
            evidence=signal.evidence or live.evidence,
            message=signal.message or live.message,
            message_zh=signal.message_zh or live.message_zh,
        )
        tx.update_alarm(updated)
        if updated.diagnosis != live.diagnosis or updated.severity != live.severity:
            before = alarm_fields_text(live, ("diagnosis", "severity"))
            after = alarm_fields_text(updated, ("diagnosis", "severity"))
            tx.add_history(live.id, signal.time, "update", SYSTEM_ACTOR, live.state, live.state,
                           f"{before} -> {after}")
            tx.add_audit(signal.time, SYSTEM_ACTOR, "update", "alarm", live.id, before, after)
            self._refresh_incident(tx, updated, signal.time, events)
        events.append(AlarmUpdated(updated))
        return updated

    def _raise(self, tx: AlarmTransaction, signal: AlarmSignal, events: list[Event]) -> Alarm:
        group_key = signal.group_key or f"{signal.kind}:{signal.source}"
        since = signal.time - timedelta(seconds=self.settings.group_window_s)
        incident = tx.open_incident(group_key, since)
        opened = incident is None
        if incident is None:
            title = signal.message or f"{signal.kind} on {signal.source}"
            incident = tx.insert_incident(group_key, title, signal.severity, signal.time)
        alarm = tx.insert_alarm(Alarm(
            id=0, kind=signal.kind, source=signal.source, condition=signal.condition,
            severity=signal.severity, state=AlarmState.RAISED, raised_at=signal.time,
            updated_at=signal.time, group_key=group_key, incident_id=incident.id,
            value=signal.value, worst_value=signal.value, unit=signal.unit,
            message=signal.message, message_zh=signal.message_zh, diagnosis=signal.diagnosis,
            evidence=signal.evidence,
        ))
        tx.add_history(alarm.id, signal.time, AlarmAction.RAISE.value, SYSTEM_ACTOR, None,
                       AlarmState.RAISED, signal.message)
        tx.add_audit(signal.time, SYSTEM_ACTOR, AlarmAction.RAISE.value, "alarm", alarm.id, {},
                     alarm_fields_text(alarm, ("kind", "source", "condition", "severity",
                                               "state", "incident_id", "diagnosis")))
        events.append(AlarmRaised(alarm))
        if opened:
            tx.add_audit(signal.time, SYSTEM_ACTOR, "open", "incident", incident.id, {},
                         {"group_key": group_key, "severity": incident.severity.value})
            events.append(IncidentOpened(tx.incident(incident.id)))
        else:
            self._refresh_incident(tx, alarm, signal.time, events)
        return alarm

    def _reopen(self, tx: AlarmTransaction, live: Alarm, signal: AlarmSignal,
                events: list[Event]) -> Alarm:
        alarm = live.apply(
            AlarmAction.REOPEN, signal.time, cleared_at=None, count=live.count + 1,
            value=signal.value, worst_value=_worst(live.worst_value, signal.value,
                                                   signal.worse_when_lower),
            diagnosis=signal.diagnosis or live.diagnosis, evidence=signal.evidence or live.evidence,
        )
        self._record(tx, live, alarm, AlarmAction.REOPEN, SYSTEM_ACTOR, signal.time, events,
                     fields=("state", "cleared_at"))
        events.append(AlarmRaised(alarm, reopened=True))
        return alarm

    def _on_ended(self, tx: AlarmTransaction, signal: AlarmSignal, live: Alarm | None,
                  events: list[Event]) -> Alarm | None:
        policy = self.settings.policy(signal.kind)
        if live is None or not live.state.is_open or not policy.auto_clear:
            return None
        alarm = live.apply(AlarmAction.CLEAR, signal.time, cleared_at=signal.time)
        self._record(tx, live, alarm, AlarmAction.CLEAR, SYSTEM_ACTOR, signal.time, events,
                     fields=("state", "cleared_at"))
        if policy.auto_close and live.state is AlarmState.RAISED:
            closed = alarm.apply(AlarmAction.CLOSE, signal.time)
            self._record(tx, alarm, closed, AlarmAction.CLOSE, SYSTEM_ACTOR, signal.time, events,
                         fields=("state",))
            alarm = closed
            self._close_incident_if_done(tx, alarm, None, SYSTEM_ACTOR, signal.time, events)
        return alarm

    # -- operators -----------------------------------------------------------------------------

    def acknowledge(self, alarm_id: int, by: str, *, note: str = "") -> Alarm:
        """An operator has seen alarm ``alarm_id``."""
        return self._operator(alarm_id, AlarmAction.ACKNOWLEDGE, by,
                              acknowledged_by=by, note=note)

    def assign(self, alarm_id: int, to: str, by: str, *, note: str = "") -> Alarm:
        """Give alarm ``alarm_id`` to a person or crew ``to`` (also a hand-over)."""
        if not to.strip():
            raise AlarmError(f"alarm {alarm_id}: assign to whom? give a person or crew")
        return self._operator(alarm_id, AlarmAction.ASSIGN, by, assignee=to.strip(), note=note)

    def resolve(self, alarm_id: int, cause: Cause | str, by: str, *, note: str = "") -> Alarm:
        """Close alarm ``alarm_id`` with its cause; its incident too if it was its last one."""
        cause = cause if isinstance(cause, Cause) else parse_cause(cause)
        return self._operator(alarm_id, AlarmAction.RESOLVE, by, cause=cause, note=note,
                              resolved_by=by)

    def resolve_incident(self, incident_id: int, cause: Cause | str, by: str, *,
                         note: str = "") -> Incident:
        """Resolve every alarm of an incident that is not final, and the incident."""
        cause = cause if isinstance(cause, Cause) else parse_cause(cause)
        _check_actor(by)
        at = self.clock()
        events: list[Event] = []
        with self.store.transaction() as tx:
            incident = tx.incident(incident_id)
            if incident.state is IncidentState.RESOLVED:
                raise AlarmError(f"incident {incident_id} is already resolved")
            for live in tx.incident_alarms(incident_id):
                if live.state.is_final:
                    continue
                alarm = live.apply(AlarmAction.RESOLVE, at, cause=cause, note=note,
                                   resolved_by=by, resolved_at=at)
                self._record(tx, live, alarm, AlarmAction.RESOLVE, by, at, events,
                             fields=_OPERATOR_FIELDS)
            self._close_incident(tx, tx.incident(incident_id), cause, by, at, events)
            result = tx.incident(incident_id)
        self._publish(events)
        return result

    def _operator(self, alarm_id: int, action: AlarmAction, by: str, **changes: object) -> Alarm:
        _check_actor(by)
        at = self.clock()
        if action is AlarmAction.RESOLVE:
            changes["resolved_at"] = at
        events: list[Event] = []
        with self.store.transaction() as tx:
            live = tx.alarm(alarm_id)
            alarm = live.apply(action, at, **changes)
            self._record(tx, live, alarm, action, by, at, events, fields=_OPERATOR_FIELDS)
            if action is AlarmAction.RESOLVE:
                self._close_incident_if_done(tx, alarm, alarm.cause, by, at, events)
        self._publish(events)
        return alarm

    # -- reads ---------------------------------------------------------------------------------

    def alarms(self, states: Iterable[AlarmState] | None = None) -> list[Alarm]:
        """Alarms, newest first (only those in ``states`` if given)."""
        return self.store.alarms(states)

    def alarm(self, alarm_id: int) -> Alarm:
        """One alarm."""
        return self.store.alarm(alarm_id)

    # -- helpers -------------------------------------------------------------------------------

    def _record(self, tx: AlarmTransaction, before: Alarm, after: Alarm, action: AlarmAction,
                actor: str, at: datetime, events: list[Event], *,
                fields: tuple[str, ...]) -> None:
        tx.update_alarm(after)
        detail = after.note if action in (AlarmAction.RESOLVE, AlarmAction.ASSIGN) else ""
        if action is AlarmAction.ASSIGN:
            detail = f"to {after.assignee}" + (f": {after.note}" if after.note else "")
        tx.add_history(after.id, at, action.value, actor, before.state, after.state, detail)
        b, a = alarm_fields_text(before, fields), alarm_fields_text(after, fields)
        changed = [k for k in fields if b[k] != a[k]]
        tx.add_audit(at, actor, action.value, "alarm", after.id,
                     {k: b[k] for k in changed}, {k: a[k] for k in changed})
        events.append(AlarmStateChanged(after, before.state, action, actor))

    def _refresh_incident(self, tx: AlarmTransaction, alarm: Alarm, at: datetime,
                          events: list[Event]) -> None:
        if alarm.incident_id is None:
            return
        incident = tx.incident(alarm.incident_id)
        members = tx.incident_alarms(incident.id)
        severity = most_severe([a.severity for a in members])
        events.append(IncidentUpdated(tx.update_incident(
            replace(incident, severity=severity, updated_at=max(at, incident.updated_at)))))

    def _close_incident_if_done(self, tx: AlarmTransaction, alarm: Alarm, cause: Cause | None,
                                actor: str, at: datetime, events: list[Event]) -> None:
        if alarm.incident_id is None:
            return
        incident = tx.incident(alarm.incident_id)
        if incident.state is IncidentState.OPEN and all(
            a.state.is_final for a in tx.incident_alarms(incident.id)
        ):
            self._close_incident(tx, incident, cause, actor, at, events)

    def _close_incident(self, tx: AlarmTransaction, incident: Incident, cause: Cause | None,
                        actor: str, at: datetime, events: list[Event]) -> None:
        closed = tx.update_incident(replace(incident, state=IncidentState.RESOLVED,
                                            closed_at=at, updated_at=at, cause=cause))
        tx.add_audit(at, actor, "resolve", "incident", incident.id,
                     {"state": incident.state.value, "cause": None},
                     {"state": closed.state.value,
                      "cause": None if cause is None else cause.value})
        events.append(IncidentUpdated(closed))

    def _publish(self, events: list[Event]) -> None:
        for event in events:
            self.bus.publish(event)


def _worst(previous: float | None, value: float | None, lower_is_worse: bool) -> float | None:
    if value is None:
        return previous
    if previous is None:
        return value
    return min(previous, value) if lower_is_worse else max(previous, value)


def _check_actor(by: str) -> None:
    if not by.strip():
        raise AlarmError("every operator action needs a name (--by NAME) for the audit trail")
