"""Repository of connection applications (用水报装), their timeline and uploaded documents.

A change of an application is written in one transaction with its timeline line and, for a
staff action, its audit line (:meth:`ConnectionsStore.transaction`): the applicant's timeline
and the audit trail can never disagree with the application's state. The row carries no
derived clock: SLA clocks are computed from the timeline (stage entries, pauses).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from waterops.errors import RecordNotFoundError, StoreError
from waterops.model.accounts import User
from waterops.model.connections import ConnectionAction, ConnectionState, TemplateName
from waterops.store.accounts_store import from_us, insert_audit, to_us
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.tables import metadata

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("stored_name", sa.String(64), nullable=False, unique=True),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("original_name", sa.String(255), nullable=False),
    sa.Column("uploaded_at_us", sa.BigInteger, nullable=False),
)

connection_applications = sa.Table(
    "connection_applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("applicant_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("template", sa.String(32), nullable=False),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("paused_from", sa.String(32), nullable=True),
    sa.Column("external_works", sa.Boolean, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("contact_phone", sa.String(32), nullable=False),
    sa.Column("park_id", sa.String(64), nullable=True),
    sa.Column("meter_size_mm", sa.Integer, nullable=False),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("water_on_at_us", sa.BigInteger, nullable=True),
)

connection_events = sa.Table(
    "connection_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "application_id",
        sa.Integer,
        sa.ForeignKey("connection_applications.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("state_before", sa.String(32), nullable=True),
    sa.Column("state_after", sa.String(32), nullable=False),
    sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)

SUBMIT_ACTION = "submit"
"""Timeline action of the application's creation (not a transition: there is no before)."""


@dataclass(frozen=True)
class Document:
    """An uploaded document's record (the bytes are in the data directory)."""

    id: int
    owner_id: int
    stored_name: str
    media_type: str
    size_bytes: int
    sha256: str
    original_name: str
    uploaded_at: datetime


@dataclass(frozen=True)
class ConnectionApplication:
    """One connection application as stored.

    ``meter_size_mm`` is the nominal meter size (DN) asked for [mm].
    """

    id: int
    applicant_id: int
    template: TemplateName
    state: ConnectionState
    paused_from: ConnectionState | None
    external_works: bool
    address: str
    contact_phone: str
    park_id: str | None
    meter_size_mm: int
    document_id: int
    created_at: datetime
    updated_at: datetime
    water_on_at: datetime | None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an application's timeline."""

    id: int
    application_id: int
    at: datetime
    action: str
    state_before: ConnectionState | None
    state_after: ConnectionState
    actor_id: int
    note: str


def _document(row: sa.RowMapping) -> Document:
    return Document(
        row["id"],
        row["owner_id"],
        row["stored_name"],
        row["media_type"],
        row["size_bytes"],
        row["sha256"],
        row["original_name"],
        from_us(row["uploaded_at_us"]),
    )


def _application(row: sa.RowMapping) -> ConnectionApplication:
    return ConnectionApplication(
        id=row["id"],
        applicant_id=row["applicant_id"],
        template=TemplateName(row["template"]),
        state=ConnectionState(row["state"]),
        paused_from=ConnectionState(row["paused_from"]) if row["paused_from"] else None,
        external_works=bool(row["external_works"]),
        address=row["address"],
        contact_phone=row["contact_phone"],
        park_id=row["park_id"],
        meter_size_mm=row["meter_size_mm"],
        document_id=row["document_id"],
        created_at=from_us(row["created_at_us"]),
        updated_at=from_us(row["updated_at_us"]),
        water_on_at=None if row["water_on_at_us"] is None else from_us(row["water_on_at_us"]),
    )


def _entry(row: sa.RowMapping) -> TimelineEntry:
    return TimelineEntry(
        row["id"],
        row["application_id"],
        from_us(row["at_us"]),
        row["action"],
        ConnectionState(row["state_before"]) if row["state_before"] else None,
        ConnectionState(row["state_after"]),
        row["actor_id"],
        row["note"],
    )


class ConnectionsTransaction:
    """Reads and writes inside one transaction (see :meth:`ConnectionsStore.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def application(self, application_id: int) -> ConnectionApplication:
        """The application, locked for update on PostgreSQL."""
        query = sa.select(connection_applications).where(
            connection_applications.c.id == application_id
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise RecordNotFoundError("connection application", application_id)
        return _application(row)

    def insert_application(self, values: dict[str, Any], at: datetime) -> int:
        """Store a new application in state ``application``; its id."""
        return int(
            self.conn.execute(
                sa.insert(connection_applications)
                .values(
                    **values,
                    state=ConnectionState.APPLICATION.value,
                    created_at_us=to_us(at),
                    updated_at_us=to_us(at),
                )
                .returning(connection_applications.c.id)
            ).scalar_one()
        )

    def set_state(
        self,
        application_id: int,
        state: ConnectionState,
        paused_from: ConnectionState | None,
        at: datetime,
    ) -> None:
        """Move the application to ``state`` (the caller checked the transition)."""
        values: dict[str, Any] = {
            "state": state.value,
            "updated_at_us": to_us(at),
            "paused_from": None if paused_from is None else paused_from.value,
        }
        if state == ConnectionState.WATER_ON:
            values["water_on_at_us"] = to_us(at)
        self.conn.execute(
            sa.update(connection_applications)
            .where(connection_applications.c.id == application_id)
            .values(values)
        )

    def add_event(
        self,
        application_id: int,
        at: datetime,
        action: ConnectionAction | str,
        before: ConnectionState | None,
        after: ConnectionState,
        actor: User,
        note: str = "",
    ) -> None:
        """One timeline line."""
        self.conn.execute(
            sa.insert(connection_events).values(
                application_id=application_id,
                at_us=to_us(at),
                action=str(action),
                state_before=None if before is None else before.value,
                state_after=after.value,
                actor_id=actor.id,
                note=note,
            )
        )

    def add_audit(
        self,
        at: datetime,
        actor: User,
        action: str,
        target_kind: str,
        target_id: int,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """One audit line in this transaction."""
        insert_audit(self.conn, at, actor, action, target_kind, target_id, before, after)

    def insert_document(
        self,
        owner_id: int,
        stored_name: str,
        media_type: str,
        size_bytes: int,
        sha256: str,
        original_name: str,
        at: datetime,
    ) -> int:
        """Store a document's record; its id."""
        return int(
            self.conn.execute(
                sa.insert(documents)
                .values(
                    owner_id=owner_id,
                    stored_name=stored_name,
                    media_type=media_type,
                    size_bytes=size_bytes,
                    sha256=sha256,
                    original_name=original_name,
                    uploaded_at_us=to_us(at),
                )
                .returning(documents.c.id)
            ).scalar_one()
        )

    def document(self, document_id: int) -> Document:
        """A document's record."""
        row = (
            self.conn.execute(sa.select(documents).where(documents.c.id == document_id))
            .mappings()
            .first()
        )
        if row is None:
            raise RecordNotFoundError("document", document_id)
        return _document(row)


class ConnectionsStore:
    """Connection applications, timelines and documents on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def transaction(self) -> Iterator[ConnectionsTransaction]:
        """One write transaction: all of it is committed or none."""
        try:
            with self._writer.begin() as conn:
                yield ConnectionsTransaction(conn)
        except DATABASE_FAULTS as exc:
            where = self.engine.url.render_as_string()
            raise StoreError(
                f"{where}: cannot write connection applications: {reason_of(exc)}"
            ) from exc

    @database_faults("read a connection application")
    def application(self, application_id: int) -> ConnectionApplication:
        """The application ``application_id`` or a :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            return ConnectionsTransaction(conn).application(application_id)

    @database_faults("list connection applications")
    def applications(
        self,
        *,
        applicant_id: int | None = None,
        states: tuple[ConnectionState, ...] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[ConnectionApplication], int]:
        """A page of applications by id (the applicant's only, if given) and the total count."""
        where = []
        if applicant_id is not None:
            where.append(connection_applications.c.applicant_id == applicant_id)
        if states:
            where.append(connection_applications.c.state.in_([s.value for s in states]))
        query = (
            sa.select(connection_applications)
            .where(*where)
            .order_by(connection_applications.c.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        count = sa.select(sa.func.count()).select_from(connection_applications).where(*where)
        with self.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = conn.execute(query).mappings().all()
        return [_application(r) for r in rows], total

    @database_faults("read a timeline")
    def timeline(self, application_id: int) -> list[TimelineEntry]:
        """The application's timeline, oldest first."""
        query = (
            sa.select(connection_events)
            .where(connection_events.c.application_id == application_id)
            .order_by(connection_events.c.id)
        )
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query).mappings().all()]

    @database_faults("read timelines")
    def timelines(self) -> dict[int, list[TimelineEntry]]:
        """Every application's timeline, oldest first, in one query (for reports)."""
        query = sa.select(connection_events).order_by(connection_events.c.id)
        result: dict[int, list[TimelineEntry]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                result.setdefault(row["application_id"], []).append(_entry(row))
        return result

    @database_faults("read a document")
    def document(self, document_id: int) -> Document:
        """A document's record or a :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            return ConnectionsTransaction(conn).document(document_id)
