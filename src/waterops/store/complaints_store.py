"""Repository of complaints (投诉/报修), their events, callback tasks and satisfaction surveys.

A complaint's arrival (row, diagnosis, reply, callback task, the join to its group) is written
in one transaction (:meth:`ComplaintsStore.transaction`), so an agent never sees a complaint
without its diagnosis and callback task. Staff actions write their audit line in the same
transaction (``audit_log``, revision 0003). Times are integer microseconds since 1970 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from waterops.errors import ComplaintError, RecordNotFoundError
from waterops.model.accounts import User
from waterops.model.complaints import (
    OPEN_STATES,
    Channel,
    ComplaintCategory,
    ComplaintState,
    Finding,
)
from waterops.store.accounts_store import from_us, insert_audit, to_us
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import database_faults, write_transaction
from waterops.store.tables import metadata

complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("taken_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("contact_phone", sa.String(32), nullable=False, server_default=""),
    sa.Column("location_text", sa.Text, nullable=False, server_default=""),
    sa.Column("account_id", sa.String(32), nullable=True),
    sa.Column("node_id", sa.String(64), nullable=True),
    sa.Column("pump_room_id", sa.String(32), nullable=True),
    sa.Column("dma_id", sa.String(32), nullable=True),
    sa.Column("received_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("diagnosis_s", sa.Float, nullable=True),
    sa.Column("diagnosis_en", sa.Text, nullable=False, server_default=""),
    sa.Column("diagnosis_zh", sa.Text, nullable=False, server_default=""),
    sa.Column("findings", sa.Text, nullable=False, server_default="[]"),
    sa.Column("cause_key", sa.String(128), nullable=True, index=True),
    sa.Column("alarm_incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
    sa.Column("group_lead_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=True),
    sa.Column("closed_at_us", sa.BigInteger, nullable=True),
)

complaint_events = sa.Table(
    "complaint_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False,
              index=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("state_before", sa.String(16), nullable=True),
    sa.Column("state_after", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)

complaint_callbacks = sa.Table(
    "complaint_callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False,
              index=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("due_at_us", sa.BigInteger, nullable=False),
    sa.Column("done_at_us", sa.BigInteger, nullable=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("outcome", sa.Text, nullable=False, server_default=""),
)

complaint_surveys = sa.Table(
    "complaint_surveys",
    metadata,
    sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), primary_key=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
)

SUBMIT_ACTION = "submit"
"""Event action of the complaint's arrival (not a transition: there is no state before)."""


@dataclass(frozen=True)
class Callback:
    """The callback an agent owes the customer (回访)."""

    id: int
    complaint_id: int
    created_at: datetime
    due_at: datetime
    done_at: datetime | None
    agent_id: int | None
    outcome: str


@dataclass(frozen=True)
class Survey:
    """The customer's satisfaction answer (1-5) after closing."""

    complaint_id: int
    at: datetime
    score: int
    comment: str


@dataclass(frozen=True)
class Complaint:
    """One complaint as stored.

    ``diagnosis_s`` is the time the automatic diagnosis took [s].
    """

    id: int
    customer_id: int | None
    taken_by_id: int | None
    channel: Channel
    category: ComplaintCategory
    state: ComplaintState
    description: str
    contact_phone: str
    location_text: str
    account_id: str | None
    node_id: str | None
    pump_room_id: str | None
    dma_id: str | None
    received_at: datetime
    updated_at: datetime
    diagnosis_s: float | None
    diagnosis_en: str
    diagnosis_zh: str
    findings: tuple[Finding, ...]
    cause_key: str | None
    alarm_incident_id: int | None
    group_lead_id: int | None
    closed_at: datetime | None
    callback: Callback | None = None
    survey: Survey | None = None


@dataclass(frozen=True)
class ComplaintEvent:
    """One line of a complaint's history."""

    id: int
    complaint_id: int
    at: datetime
    action: str
    state_before: ComplaintState | None
    state_after: ComplaintState
    actor: str
    note: str


def findings_to_json(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """Findings as JSON text."""
    return json.dumps([{"source": f.source, "text": f.text, "text_zh": f.text_zh,
                        "value": f.value, "unit": f.unit} for f in findings],
                      ensure_ascii=False)


def _findings(text: str) -> tuple[Finding, ...]:
    return tuple(Finding(d["source"], d["text"], d["text_zh"], d.get("value"), d.get("unit", ""))
                 for d in json.loads(text))


def _time(time_us: int | None) -> datetime | None:
    return None if time_us is None else from_us(int(time_us))


def _callback(row: sa.RowMapping) -> Callback:
    return Callback(row["id"], row["complaint_id"], from_us(row["created_at_us"]),
                    from_us(row["due_at_us"]), _time(row["done_at_us"]), row["agent_id"],
                    row["outcome"])


def _complaint(row: sa.RowMapping, callback: Callback | None, survey: Survey | None
               ) -> Complaint:
    return Complaint(
        id=row["id"], customer_id=row["customer_id"], taken_by_id=row["taken_by_id"],
        channel=Channel(row["channel"]), category=ComplaintCategory(row["category"]),
        state=ComplaintState(row["state"]), description=row["description"],
        contact_phone=row["contact_phone"], location_text=row["location_text"],
        account_id=row["account_id"], node_id=row["node_id"],
        pump_room_id=row["pump_room_id"], dma_id=row["dma_id"],
        received_at=from_us(row["received_at_us"]), updated_at=from_us(row["updated_at_us"]),
        diagnosis_s=row["diagnosis_s"], diagnosis_en=row["diagnosis_en"],
        diagnosis_zh=row["diagnosis_zh"], findings=_findings(row["findings"]),
        cause_key=row["cause_key"], alarm_incident_id=row["alarm_incident_id"],
        group_lead_id=row["group_lead_id"], closed_at=_time(row["closed_at_us"]),
        callback=callback, survey=survey,
    )


def _read_complaint(conn: sa.Connection, complaint_id: int, *, lock: bool = False
                    ) -> Complaint:
    query = sa.select(complaints).where(complaints.c.id == complaint_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise RecordNotFoundError("complaint", complaint_id)
    cb = conn.execute(sa.select(complaint_callbacks)
                      .where(complaint_callbacks.c.complaint_id == complaint_id)
                      .order_by(complaint_callbacks.c.id.desc())).mappings().first()
    sv = conn.execute(sa.select(complaint_surveys)
                      .where(complaint_surveys.c.complaint_id == complaint_id)).mappings().first()
    survey = None if sv is None else Survey(sv["complaint_id"], from_us(sv["at_us"]),
                                            sv["score"], sv["comment"])
    return _complaint(row, None if cb is None else _callback(cb), survey)


class ComplaintsTransaction:
    """Reads and writes inside one transaction (see :meth:`ComplaintsStore.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def complaint(self, complaint_id: int) -> Complaint:
        """The complaint, locked for update on PostgreSQL."""
        return _read_complaint(self.conn, complaint_id, lock=True)

    def insert_complaint(self, values: dict[str, Any], at: datetime) -> int:
        """Store a new complaint in state ``received``; its id."""
        return int(self.conn.execute(sa.insert(complaints).values(
            **values, state=ComplaintState.RECEIVED.value, received_at_us=to_us(at),
            updated_at_us=to_us(at),
        ).returning(complaints.c.id)).scalar_one())

    def update(self, complaint_id: int, at: datetime, **values: Any) -> None:
        """Change columns of a complaint (the caller checked any state transition)."""
        values = {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
        if values.get("state") == ComplaintState.CLOSED.value:
            values["closed_at_us"] = to_us(at)
        self.conn.execute(sa.update(complaints).where(complaints.c.id == complaint_id)
                          .values(**values, updated_at_us=to_us(at)))

    def add_event(self, complaint_id: int, at: datetime, action: str,
                  before: ComplaintState | None, after: ComplaintState, actor: str,
                  note: str = "") -> None:
        """One line of the complaint's history."""
        self.conn.execute(sa.insert(complaint_events).values(
            complaint_id=complaint_id, at_us=to_us(at), action=action,
            state_before=None if before is None else before.value, state_after=after.value,
            actor=actor[:64], note=note,
        ))

    def add_callback(self, complaint_id: int, created: datetime, due: datetime) -> None:
        """A callback task due at ``due``."""
        self.conn.execute(sa.insert(complaint_callbacks).values(
            complaint_id=complaint_id, created_at_us=to_us(created), due_at_us=to_us(due)))

    def complete_callback(self, complaint_id: int, at: datetime, agent: User,
                          outcome: str) -> None:
        """Mark the open callback task of the complaint done by ``agent``."""
        done = self.conn.execute(
            sa.update(complaint_callbacks)
            .where(complaint_callbacks.c.complaint_id == complaint_id,
                   complaint_callbacks.c.done_at_us.is_(None))
            .values(done_at_us=to_us(at), agent_id=agent.id, outcome=outcome))
        if done.rowcount == 0:  # reopened complaints get a new task when re-diagnosed
            self.conn.execute(sa.insert(complaint_callbacks).values(
                complaint_id=complaint_id, created_at_us=to_us(at), due_at_us=to_us(at),
                done_at_us=to_us(at), agent_id=agent.id, outcome=outcome))

    def add_survey(self, complaint_id: int, at: datetime, score: int, comment: str) -> None:
        """The customer's satisfaction answer."""
        self.conn.execute(sa.insert(complaint_surveys).values(
            complaint_id=complaint_id, at_us=to_us(at), score=score, comment=comment))

    def group_lead(self, cause_key: str, since: datetime, exclude_id: int) -> Complaint | None:
        """The first open complaint with ``cause_key`` received since ``since`` (the head of its
        group), other than ``exclude_id``.

        On PostgreSQL a transaction lock on the cause key serialises two complaints about one
        cause arriving at once (SQLite writers are serialised already: BEGIN IMMEDIATE), so
        they cannot both become the head of a group."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                              {"key": f"complaint-group:{cause_key}"})
        row = self.conn.execute(
            sa.select(complaints.c.id, complaints.c.group_lead_id)
            .where(complaints.c.cause_key == cause_key,
                   complaints.c.received_at_us >= to_us(since),
                   complaints.c.state.in_([s.value for s in OPEN_STATES]),
                   complaints.c.id != exclude_id)
            .order_by(complaints.c.received_at_us, complaints.c.id).limit(1)
        ).first()
        if row is None:
            return None
        lead_id = row.group_lead_id or row.id
        return _read_complaint(self.conn, int(lead_id))

    def add_audit(self, at: datetime, actor: User, action: str, complaint_id: int,
                  before: dict[str, Any] | None = None,
                  after: dict[str, Any] | None = None) -> None:
        """One audit line in this transaction."""
        insert_audit(self.conn, at, actor, action, "complaint", complaint_id, before, after)


class ComplaintsStore:
    """Complaints, events, callbacks and surveys on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def transaction(self) -> Iterator[ComplaintsTransaction]:
        """One write transaction; everything in it is committed together or not at all."""
        with write_transaction(
            self.engine, self._writer, "write complaints",
            lambda reason: ComplaintError(f"cannot store the complaint: {reason}"),
        ) as conn:
            yield ComplaintsTransaction(conn)

    @database_faults("read a complaint")
    def complaint(self, complaint_id: int) -> Complaint:
        """The complaint ``complaint_id`` (with its callback task and survey)."""
        with self.engine.connect() as conn:
            return _read_complaint(conn, complaint_id)

    @database_faults("list complaints")
    def complaints(self, *, customer_id: int | None = None, state: ComplaintState | None = None,
                   limit: int | None = None, offset: int = 0) -> tuple[list[Complaint], int]:
        """A page of complaints, newest first, and their total."""
        where = []
        if customer_id is not None:
            where.append(complaints.c.customer_id == customer_id)
        if state is not None:
            where.append(complaints.c.state == state.value)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(complaints)
                                 .where(*where)).scalar_one()
            ids = conn.execute(
                sa.select(complaints.c.id).where(*where)
                .order_by(complaints.c.received_at_us.desc(), complaints.c.id.desc())
                .limit(limit).offset(offset)).scalars().all()
            return [_read_complaint(conn, int(i)) for i in ids], int(total)

    @database_faults("read a complaint's history")
    def events(self, complaint_id: int) -> list[ComplaintEvent]:
        """The complaint's history, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(complaint_events)
                                .where(complaint_events.c.complaint_id == complaint_id)
                                .order_by(complaint_events.c.id)).mappings().all()
        return [ComplaintEvent(r["id"], r["complaint_id"], from_us(r["at_us"]), r["action"],
                               ComplaintState(r["state_before"]) if r["state_before"] else None,
                               ComplaintState(r["state_after"]), r["actor"], r["note"])
                for r in rows]

    @database_faults("list a complaint group")
    def group(self, lead_id: int) -> list[int]:
        """Ids of the complaints of the group headed by ``lead_id`` (the lead first)."""
        with self.engine.connect() as conn:
            ids = conn.execute(sa.select(complaints.c.id)
                               .where(sa.or_(complaints.c.id == lead_id,
                                             complaints.c.group_lead_id == lead_id))
                               .order_by(complaints.c.id)).scalars().all()
        return [int(i) for i in ids]

    @database_faults("list callbacks")
    def open_callbacks(self) -> list[Callback]:
        """Callback tasks not done yet, the most urgent first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(complaint_callbacks)
                                .where(complaint_callbacks.c.done_at_us.is_(None))
                                .order_by(complaint_callbacks.c.due_at_us)).mappings().all()
        return [_callback(r) for r in rows]
