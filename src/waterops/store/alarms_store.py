"""Repository of alarms, incidents, alarm history and the audit trail (SQLite or PostgreSQL).

The alarm service (:mod:`waterops.service.alarms`) does each of its operations in one
:meth:`AlarmStore.transaction`: the alarm, its history line, its incident and the audit line
are written together or not at all. Reads (:meth:`AlarmStore.alarms`, :meth:`AlarmStore.alarm`,
:meth:`AlarmStore.history`, :meth:`AlarmStore.audit`) each use their own connection.

On PostgreSQL the rows an operation changes are locked (``SELECT … FOR UPDATE``) so that two
operators acting on one alarm at once are serialised; SQLite's write transactions take the
database's write lock at BEGIN, which serialises them too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa

from waterops.errors import AlarmConflictError, AlarmError, StoreError
from waterops.model.alarms import (
    Alarm,
    AlarmState,
    AuditEntry,
    Cause,
    Evidence,
    Incident,
    IncidentState,
    Severity,
)
from waterops.store import migrate
from waterops.store.alarm_tables import alarm_history, alarms, audit_log, incidents
from waterops.store.engine import WRITE_OPTION, create_store_engine, resolve_url
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.retention import get_state, set_state
from waterops.store.timecodes import from_us, to_us

FEED_MARK = "alarm_feed_until_us"
"""``store_state`` name of the time up to which an alarm feed has read the stored readings."""


def _us(when: datetime | None) -> int | None:
    return None if when is None else to_us(when)


def _time(time_us: int | None) -> datetime | None:
    return None if time_us is None else from_us(int(time_us))


def evidence_to_json(evidence: Iterable[Evidence]) -> str:
    """Evidence as JSON text (times as ISO 8601 UTC)."""
    return json.dumps([
        {"sensor_id": e.sensor_id, "quantity": e.quantity, "value": e.value, "unit": e.unit,
         "time": e.time.isoformat(), "note": e.note}
        for e in evidence
    ], ensure_ascii=False)


def evidence_from_json(text: str) -> tuple[Evidence, ...]:
    """The inverse of :func:`evidence_to_json`."""
    return tuple(
        Evidence(d["sensor_id"], d["quantity"], float(d["value"]), d["unit"],
                 datetime.fromisoformat(d["time"]), d.get("note", ""))
        for d in json.loads(text or "[]")
    )


def _alarm_row(alarm: Alarm) -> dict[str, Any]:
    return {
        "kind": alarm.kind, "source": alarm.source, "condition": alarm.condition,
        "severity": alarm.severity.value, "state": alarm.state.value,
        "group_key": alarm.group_key, "incident_id": alarm.incident_id,
        "raised_us": to_us(alarm.raised_at), "updated_us": to_us(alarm.updated_at),
        "cleared_us": _us(alarm.cleared_at), "resolved_us": _us(alarm.resolved_at),
        "value": alarm.value, "worst_value": alarm.worst_value, "unit": alarm.unit,
        "message": alarm.message, "message_zh": alarm.message_zh, "diagnosis": alarm.diagnosis,
        "evidence": evidence_to_json(alarm.evidence),
        "acknowledged_by": alarm.acknowledged_by, "assignee": alarm.assignee,
        "resolved_by": alarm.resolved_by,
        "cause": None if alarm.cause is None else alarm.cause.value,
        "note": alarm.note, "count": alarm.count,
    }


def _alarm(row: sa.RowMapping) -> Alarm:
    raised, updated = _time(row["raised_us"]), _time(row["updated_us"])
    assert raised is not None and updated is not None  # NOT NULL columns
    return Alarm(
        id=int(row["id"]), kind=row["kind"], source=row["source"], condition=row["condition"],
        severity=Severity(row["severity"]), state=AlarmState(row["state"]),
        raised_at=raised, updated_at=updated, group_key=row["group_key"],
        incident_id=row["incident_id"], value=row["value"], worst_value=row["worst_value"],
        unit=row["unit"], message=row["message"], message_zh=row["message_zh"],
        diagnosis=row["diagnosis"], evidence=evidence_from_json(row["evidence"]),
        cleared_at=_time(row["cleared_us"]), resolved_at=_time(row["resolved_us"]),
        acknowledged_by=row["acknowledged_by"], assignee=row["assignee"],
        resolved_by=row["resolved_by"],
        cause=None if row["cause"] is None else Cause(row["cause"]),
        note=row["note"], count=int(row["count"]),
    )


def _incident(row: sa.RowMapping, alarm_ids: tuple[int, ...]) -> Incident:
    opened, updated = _time(row["opened_us"]), _time(row["updated_us"])
    assert opened is not None and updated is not None
    return Incident(
        id=int(row["id"]), group_key=row["group_key"], title=row["title"],
        severity=Severity(row["severity"]), state=IncidentState(row["state"]),
        opened_at=opened, updated_at=updated, closed_at=_time(row["closed_us"]),
        cause=None if row["cause"] is None else Cause(row["cause"]), alarm_ids=alarm_ids,
    )


def alarm_fields_text(alarm: Alarm, names: Iterable[str]) -> dict[str, str | None]:
    """The named fields of ``alarm`` as text (for audit before/after)."""
    out: dict[str, str | None] = {}
    for name in names:
        value = getattr(alarm, name)
        if value is None:
            out[name] = None
        elif isinstance(value, datetime):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


ALARM_FIELDS = tuple(f.name for f in fields(Alarm))


class AlarmTransaction:
    """The repository operations inside one transaction (from :meth:`AlarmStore.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._lock = conn.dialect.name == "postgresql"

    def _select_alarms(self) -> sa.Select[Any]:
        query = sa.select(alarms)
        return query.with_for_update() if self._lock else query

    def live_alarm(self, kind: str, source: str, condition: str) -> Alarm | None:
        """The live (not final) alarm with this key, locked for the transaction, or ``None``."""
        row = self.conn.execute(
            self._select_alarms().where(
                alarms.c.kind == kind, alarms.c.source == source,
                alarms.c.condition == condition,
                alarms.c.state.not_in([AlarmState.RESOLVED.value, AlarmState.CLOSED.value]),
            )
        ).mappings().first()
        return None if row is None else _alarm(row)

    def alarm(self, alarm_id: int) -> Alarm:
        """The alarm ``alarm_id``, locked; :class:`AlarmError` if there is none."""
        row = self.conn.execute(
            self._select_alarms().where(alarms.c.id == alarm_id)
        ).mappings().first()
        if row is None:
            raise AlarmError(f"no alarm with id {alarm_id}")
        return _alarm(row)

    def insert_alarm(self, alarm: Alarm) -> Alarm:
        """Store a new alarm (its ``id`` is ignored) and return it with the id given."""
        new_id = self.conn.execute(
            sa.insert(alarms).values(**_alarm_row(alarm)).returning(alarms.c.id)
        ).scalar_one()
        return Alarm(**{**{f: getattr(alarm, f) for f in ALARM_FIELDS}, "id": int(new_id)})

    def update_alarm(self, alarm: Alarm) -> None:
        """Write every field of ``alarm`` over its row."""
        self.conn.execute(
            sa.update(alarms).where(alarms.c.id == alarm.id).values(**_alarm_row(alarm))
        )

    def add_history(self, alarm_id: int, at: datetime, action: str, actor: str,
                    state_before: AlarmState | None, state_after: AlarmState,
                    detail: str = "") -> None:
        """One line of the alarm's own history (every change, automatic or by an operator)."""
        self.conn.execute(sa.insert(alarm_history).values(
            alarm_id=alarm_id, at_us=to_us(at), action=action, actor=actor,
            state_before=None if state_before is None else state_before.value,
            state_after=state_after.value, detail=detail,
        ))

    def add_audit(self, at: datetime, actor: str, action: str, target_kind: str, target_id: int,
                  before: dict[str, str | None], after: dict[str, str | None]) -> None:
        """One line of the audit trail."""
        self.conn.execute(sa.insert(audit_log).values(
            at_us=to_us(at), actor=actor, action=action, target_kind=target_kind,
            target_id=target_id, before=json.dumps(before, ensure_ascii=False),
            after=json.dumps(after, ensure_ascii=False),
        ))

    def open_incident(self, group_key: str, since: datetime) -> Incident | None:
        """The open incident of ``group_key`` updated at or after ``since``, or ``None``."""
        query = sa.select(incidents).where(
            incidents.c.group_key == group_key,
            incidents.c.state == IncidentState.OPEN.value,
            incidents.c.updated_us >= to_us(since),
        ).order_by(incidents.c.updated_us.desc())
        if self._lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return None if row is None else self._with_alarms(row)

    def incident(self, incident_id: int) -> Incident:
        """The incident ``incident_id``; :class:`AlarmError` if there is none."""
        query = sa.select(incidents).where(incidents.c.id == incident_id)
        if self._lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise AlarmError(f"no incident with id {incident_id}")
        return self._with_alarms(row)

    def _with_alarms(self, row: sa.RowMapping) -> Incident:
        ids = self.conn.execute(
            sa.select(alarms.c.id).where(alarms.c.incident_id == row["id"]).order_by(alarms.c.id)
        ).scalars().all()
        return _incident(row, tuple(int(i) for i in ids))

    def insert_incident(self, group_key: str, title: str, severity: Severity,
                        at: datetime) -> Incident:
        """Open a new incident."""
        new_id = self.conn.execute(sa.insert(incidents).values(
            group_key=group_key, title=title, severity=severity.value,
            state=IncidentState.OPEN.value, opened_us=to_us(at), updated_us=to_us(at),
        ).returning(incidents.c.id)).scalar_one()
        return self.incident(int(new_id))

    def update_incident(self, incident: Incident) -> Incident:
        """Write the incident's severity, state, times, cause and title; return it re-read."""
        self.conn.execute(sa.update(incidents).where(incidents.c.id == incident.id).values(
            title=incident.title, severity=incident.severity.value, state=incident.state.value,
            updated_us=to_us(incident.updated_at), closed_us=_us(incident.closed_at),
            cause=None if incident.cause is None else incident.cause.value,
        ))
        return self.incident(incident.id)

    def incident_alarms(self, incident_id: int) -> list[Alarm]:
        """The alarms of an incident, locked, oldest first."""
        rows = self.conn.execute(
            self._select_alarms().where(alarms.c.incident_id == incident_id)
            .order_by(alarms.c.id)
        ).mappings().all()
        return [_alarm(r) for r in rows]


class AlarmStore:
    """Alarms, incidents, history and audit trail in the telemetry database.

    Parameters
    ----------
    engine : engine from :func:`waterops.store.engine.create_store_engine` (a
        :class:`~waterops.store.TelemetryStore`'s ``engine`` will do), migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    def open(cls, url: str | None = None, *, schema: str | None = None) -> AlarmStore:
        """Open (and migrate to head) the database at ``url`` (default: WATEROPS_DATABASE_URL)."""
        engine = create_store_engine(resolve_url(url), schema=schema)
        try:
            migrate.upgrade(engine, schema)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[AlarmTransaction]:
        """One write transaction; everything in it is committed together or not at all.

        Raises
        ------
        AlarmConflictError
            when a unique key was taken meanwhile (another process raised the same alarm)
        StoreError
            for any other database fault
        """
        try:
            with self._writer.begin() as conn:
                yield AlarmTransaction(conn)
        except sa.exc.IntegrityError as exc:
            where = self.engine.url.render_as_string()
            raise AlarmConflictError(
                f"{where}: cannot write alarms: {reason_of(exc)}") from exc
        except DATABASE_FAULTS as exc:
            where = self.engine.url.render_as_string()
            raise StoreError(f"{where}: cannot write alarms: {reason_of(exc)}") from exc

    # -- reads ---------------------------------------------------------------------------------

    @database_faults("read alarms")
    def alarms(self, states: Iterable[AlarmState] | None = None, *,
               limit: int | None = None) -> list[Alarm]:
        """Alarms, newest first; only those in ``states`` if given."""
        query = sa.select(alarms).order_by(alarms.c.raised_us.desc(), alarms.c.id.desc())
        if states is not None:
            query = query.where(alarms.c.state.in_([s.value for s in states]))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_alarm(r) for r in conn.execute(query).mappings()]

    @database_faults("read an alarm")
    def alarm(self, alarm_id: int) -> Alarm:
        """The alarm ``alarm_id``; :class:`AlarmError` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alarms).where(alarms.c.id == alarm_id)).mappings().first()
        if row is None:
            raise AlarmError(f"no alarm with id {alarm_id}")
        return _alarm(row)

    @database_faults("read an alarm's history")
    def history(self, alarm_id: int) -> list[dict[str, Any]]:
        """The alarm's history, oldest first: ``at``, ``action``, ``actor``, ``state_before``,
        ``state_after``, ``detail``."""
        query = (sa.select(alarm_history).where(alarm_history.c.alarm_id == alarm_id)
                 .order_by(alarm_history.c.id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{"at": from_us(int(r["at_us"])), "action": r["action"], "actor": r["actor"],
                 "state_before": r["state_before"], "state_after": r["state_after"],
                 "detail": r["detail"]} for r in rows]

    @database_faults("read the audit trail")
    def audit(self, target_kind: str | None = None,
              target_id: int | None = None) -> list[AuditEntry]:
        """Audit lines, oldest first; only those about one target if given."""
        query = sa.select(audit_log).order_by(audit_log.c.id)
        if target_kind is not None:
            query = query.where(audit_log.c.target_kind == target_kind)
        if target_id is not None:
            query = query.where(audit_log.c.target_id == target_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [AuditEntry(int(r["id"]), from_us(int(r["at_us"])), r["actor"], r["action"],
                           r["target_kind"], int(r["target_id"]), json.loads(r["before"]),
                           json.loads(r["after"])) for r in rows]

    @database_faults("read incidents")
    def incidents(self, state: IncidentState | None = None) -> list[Incident]:
        """Incidents, newest first (with their alarm ids)."""
        query = sa.select(incidents).order_by(incidents.c.opened_us.desc(), incidents.c.id.desc())
        if state is not None:
            query = query.where(incidents.c.state == state.value)
        with self.engine.connect() as conn:
            tx = AlarmTransaction(conn)
            return [tx._with_alarms(r) for r in conn.execute(query).mappings().all()]

    @database_faults("read an incident")
    def incident(self, incident_id: int) -> Incident:
        """The incident ``incident_id`` (with its alarm ids)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(incidents).where(incidents.c.id == incident_id)
            ).mappings().first()
            if row is None:
                raise AlarmError(f"no incident with id {incident_id}")
            return AlarmTransaction(conn)._with_alarms(row)

    # -- the feed's watermark ------------------------------------------------------------------

    @database_faults("read the alarm feed's watermark")
    def feed_mark(self) -> datetime | None:
        """The time up to which (exclusive) an alarm feed has read stored readings, if any."""
        with self.engine.connect() as conn:
            value = get_state(conn, FEED_MARK)
        return None if value is None else from_us(value)

    @database_faults("set the alarm feed's watermark")
    def set_feed_mark(self, until: datetime) -> None:
        """Record that stored readings before ``until`` have been through the feed."""
        with self._writer.begin() as conn:
            set_state(conn, FEED_MARK, to_us(until))
