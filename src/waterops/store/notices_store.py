"""Repository of outage notices, their affected customers, customer contacts and the outbox.

The outbox makes the notices reliable: a notice, its targets and one outbox row per message
are written in ONE transaction (:meth:`NoticesStore.insert_notice`); a sender drains the
outbox afterwards (:mod:`waterops.service.notifications`). If the process dies between the two,
the messages wait in the outbox and the next drain sends them: none is lost. A message is
claimed with a lease before it is sent (``next_attempt_us`` moved ahead), so two drainers never
send it at the same time; a drainer that dies after sending but before marking it sent causes
one duplicate after the lease (at-least-once delivery: a duplicate SMS is better than none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from waterops.errors import RecordNotFoundError, StoreError
from waterops.model.accounts import User
from waterops.model.notices import NoticeKind
from waterops.store.accounts_store import from_us, insert_audit, to_us, users
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.tables import metadata

customer_contacts = sa.Table(
    "customer_contacts",
    metadata,
    sa.Column("account_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("node_id", sa.String(64), nullable=False, index=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("area", sa.String(200), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("starts_at_us", sa.BigInteger, nullable=False),
    sa.Column("ends_at_us", sa.BigInteger, nullable=False),
    sa.Column("issued_at_us", sa.BigInteger, nullable=False),
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("nodes", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body_en", sa.Text, nullable=False),
    sa.Column("body_zh", sa.Text, nullable=False),
)

notice_targets = sa.Table(
    "notice_targets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=False, index=True),
    sa.Column("account_id", sa.String(32), nullable=False, index=True),
    sa.Column("node_id", sa.String(64), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=True, index=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_us", sa.BigInteger, nullable=False),
    sa.Column("sent_at_us", sa.BigInteger, nullable=True),
    sa.Column("failed_at_us", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_outbox_pending", "sent_at_us", "failed_at_us", "next_attempt_us"),
)


@dataclass(frozen=True)
class Contact:
    """How to reach the holder of a customer account (attached to a network node)."""

    account_id: str
    node_id: str
    user_id: int | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Notice:
    """One outage notice as stored."""

    id: int
    kind: NoticeKind
    area: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    issued_at: datetime
    issued_by: str
    nodes: tuple[str, ...]
    subject: str
    body_en: str
    body_zh: str
    target_count: int = 0


@dataclass(frozen=True)
class OutboxMessage:
    """One message waiting in (or gone from) the outbox."""

    id: int
    notice_id: int | None
    channel: str
    address: str
    subject: str
    body: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str


def _notice(row: sa.RowMapping, target_count: int) -> Notice:
    return Notice(row["id"], NoticeKind(row["kind"]), row["area"], row["reason"],
                  from_us(row["starts_at_us"]), from_us(row["ends_at_us"]),
                  from_us(row["issued_at_us"]), row["issued_by"],
                  tuple(json.loads(row["nodes"])), row["subject"], row["body_en"],
                  row["body_zh"], target_count)


def _message(row: sa.RowMapping) -> OutboxMessage:
    def t(v: int | None) -> datetime | None:
        return None if v is None else from_us(int(v))

    return OutboxMessage(row["id"], row["notice_id"], row["channel"], row["address"],
                         row["subject"], row["body"], from_us(row["created_at_us"]),
                         row["attempts"], from_us(row["next_attempt_us"]), t(row["sent_at_us"]),
                         t(row["failed_at_us"]), row["last_error"])


@dataclass(frozen=True)
class NewMessage:
    """A message to put in the outbox with its notice."""

    channel: str
    address: str
    subject: str
    body: str


class NoticesStore:
    """Notices, targets, contacts and the outbox on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def _write(self, action: str) -> Iterator[sa.Connection]:
        """One write transaction; database faults become a ``StoreError`` naming ``action``."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except DATABASE_FAULTS as exc:
            where = self.engine.url.render_as_string()
            raise StoreError(f"{where}: cannot {action}: {reason_of(exc)}") from exc

    # -- contacts ------------------------------------------------------------------------------

    def upsert_contacts(self, contacts: Iterable[Contact], *, at: datetime | None = None,
                        actor: User | None = None) -> int:
        """Add or replace customer contacts; how many (a staff ``actor`` is audited)."""
        n = 0
        with self._write("store customer contacts") as conn:
            for c in contacts:
                if c.user_id is not None and conn.execute(
                        sa.select(users.c.id).where(users.c.id == c.user_id)).first() is None:
                    raise RecordNotFoundError("user", c.user_id)
                values = {"user_id": c.user_id, "node_id": c.node_id, "email": c.email,
                          "phone": c.phone}
                done = conn.execute(sa.update(customer_contacts)
                                    .where(customer_contacts.c.account_id == c.account_id)
                                    .values(**values))
                if done.rowcount == 0:
                    conn.execute(sa.insert(customer_contacts)
                                 .values(account_id=c.account_id, **values))
                if actor is not None and at is not None:
                    # the audit's target id is an integer: the user the account is linked to
                    insert_audit(conn, at, actor, "register_contact", "contact",
                                 c.user_id or 0, after={"account_id": c.account_id,
                                                        "user_id": c.user_id})
                n += 1
        return n

    @database_faults("read customer contacts")
    def contacts(self, *, nodes: Iterable[str] | None = None, user_id: int | None = None
                 ) -> list[Contact]:
        """Contacts attached to ``nodes`` and/or held by ``user_id``."""
        query = sa.select(customer_contacts).order_by(customer_contacts.c.account_id)
        if nodes is not None:
            query = query.where(customer_contacts.c.node_id.in_(list(nodes)))
        if user_id is not None:
            query = query.where(customer_contacts.c.user_id == user_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Contact(r["account_id"], r["node_id"], r["user_id"], r["email"], r["phone"])
                for r in rows]

    # -- notices -------------------------------------------------------------------------------

    def insert_notice(self, values: dict[str, Any], targets: Iterable[tuple[str, str]],
                      messages: Iterable[NewMessage], at: datetime, actor: User | None
                      ) -> Notice:
        """Store a notice, its (account, node) targets and its outbox messages together."""
        with self._write("store a notice") as conn:
            notice_id = int(conn.execute(sa.insert(notices).values(
                **values, issued_at_us=to_us(at)).returning(notices.c.id)).scalar_one())
            target_rows = [{"notice_id": notice_id, "account_id": a, "node_id": n}
                           for a, n in targets]
            if target_rows:
                conn.execute(sa.insert(notice_targets), target_rows)
            message_rows = [{"notice_id": notice_id, "channel": m.channel,
                             "address": m.address, "subject": m.subject, "body": m.body,
                             "created_at_us": to_us(at), "attempts": 0,
                             "next_attempt_us": to_us(at)} for m in messages]
            if message_rows:
                conn.execute(sa.insert(outbox), message_rows)
            if actor is not None:
                insert_audit(conn, at, actor, "issue_notice", "notice", notice_id,
                             after={"kind": values["kind"], "targets": len(target_rows),
                                    "messages": len(message_rows)})
            row = conn.execute(sa.select(notices).where(notices.c.id == notice_id)
                               ).mappings().one()
        return _notice(row, len(target_rows))

    def enqueue(self, messages: Iterable[NewMessage], at: datetime) -> int:
        """Put messages that belong to no notice in the outbox; how many."""
        rows = [{"notice_id": None, "channel": m.channel, "address": m.address,
                 "subject": m.subject, "body": m.body, "created_at_us": to_us(at),
                 "attempts": 0, "next_attempt_us": to_us(at)} for m in messages]
        if rows:
            with self._write("queue messages") as conn:
                conn.execute(sa.insert(outbox), rows)
        return len(rows)

    @database_faults("read a notice")
    def notice(self, notice_id: int) -> Notice:
        """The notice ``notice_id``."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(notices).where(notices.c.id == notice_id)
                               ).mappings().first()
            if row is None:
                raise RecordNotFoundError("notice", notice_id)
            return _notice(row, self._count_targets(conn, notice_id))

    @staticmethod
    def _count_targets(conn: sa.Connection, notice_id: int) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(notice_targets)
                                .where(notice_targets.c.notice_id == notice_id)).scalar_one())

    @database_faults("list notices")
    def notices(self, *, account_ids: Iterable[str] | None = None,
                active_at: datetime | None = None, limit: int | None = None,
                offset: int = 0) -> tuple[list[Notice], int]:
        """A page of notices, newest stop first, and their total; only those reaching
        ``account_ids`` and/or under way or ahead at ``active_at`` if given."""
        where: list[Any] = []
        if account_ids is not None:
            where.append(notices.c.id.in_(
                sa.select(notice_targets.c.notice_id)
                .where(notice_targets.c.account_id.in_(list(account_ids)))))
        if active_at is not None:
            where.append(notices.c.ends_at_us > to_us(active_at))
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(notices)
                                 .where(*where)).scalar_one()
            rows = conn.execute(sa.select(notices).where(*where)
                                .order_by(notices.c.starts_at_us.desc(), notices.c.id.desc())
                                .limit(limit).offset(offset)).mappings().all()
            return [_notice(r, self._count_targets(conn, r["id"])) for r in rows], int(total)

    @database_faults("find notices at a node")
    def notices_at(self, node_id: str, at: datetime) -> list[Notice]:
        """Notices whose stop covers ``node_id`` and is under way at ``at``."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(notices).where(
                notices.c.starts_at_us <= to_us(at), notices.c.ends_at_us > to_us(at))
            ).mappings().all()
            return [_notice(r, self._count_targets(conn, r["id"])) for r in rows
                    if node_id in json.loads(r["nodes"])]

    @database_faults("read notice targets")
    def targets(self, notice_id: int) -> list[tuple[str, str]]:
        """(account id, node id) reached by a notice."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(notice_targets.c.account_id, notice_targets.c.node_id)
                                .where(notice_targets.c.notice_id == notice_id)
                                .order_by(notice_targets.c.id)).all()
        return [(r.account_id, r.node_id) for r in rows]

    # -- outbox --------------------------------------------------------------------------------

    @database_faults("read the outbox")
    def messages(self, *, notice_id: int | None = None, pending: bool | None = None
                 ) -> list[OutboxMessage]:
        """Outbox messages by id; only a notice's, or only pending/finished ones, if given."""
        query = sa.select(outbox).order_by(outbox.c.id)
        if notice_id is not None:
            query = query.where(outbox.c.notice_id == notice_id)
        if pending is True:
            query = query.where(outbox.c.sent_at_us.is_(None), outbox.c.failed_at_us.is_(None))
        elif pending is False:
            query = query.where(sa.or_(outbox.c.sent_at_us.is_not(None),
                                       outbox.c.failed_at_us.is_not(None)))
        with self.engine.connect() as conn:
            return [_message(r) for r in conn.execute(query).mappings().all()]

    def claim(self, now: datetime, lease_until: datetime, limit: int,
              channels: Iterable[str] | None = None) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages (of ``channels`` only, if given) for sending: each
        is leased until ``lease_until`` (a concurrent drainer skips it) and its attempt
        counted."""
        claimed: list[OutboxMessage] = []
        query = (sa.select(outbox.c.id)
                 .where(outbox.c.sent_at_us.is_(None), outbox.c.failed_at_us.is_(None),
                        outbox.c.next_attempt_us <= to_us(now))
                 .order_by(outbox.c.next_attempt_us, outbox.c.id).limit(limit))
        if channels is not None:
            query = query.where(outbox.c.channel.in_(list(channels)))
        with self._write("claim outbox messages") as conn:
            due = conn.execute(query).scalars().all()
            for message_id in due:
                took = conn.execute(
                    sa.update(outbox).where(outbox.c.id == message_id,
                                            outbox.c.sent_at_us.is_(None),
                                            outbox.c.next_attempt_us <= to_us(now))
                    .values(next_attempt_us=to_us(lease_until),
                            attempts=outbox.c.attempts + 1))
                if took.rowcount == 1:
                    row = conn.execute(sa.select(outbox).where(outbox.c.id == message_id)
                                       ).mappings().one()
                    claimed.append(_message(row))
        return claimed

    def mark_sent(self, message_id: int, at: datetime) -> None:
        """The message was delivered."""
        with self._write("mark an outbox message sent") as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == message_id)
                         .values(sent_at_us=to_us(at), last_error=""))

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None,
                    at: datetime) -> None:
        """A delivery failed: retry at ``retry_at``, or give up (``None``)."""
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_at is None:
            values["failed_at_us"] = to_us(at)
        else:
            values["next_attempt_us"] = to_us(retry_at)
        with self._write("mark an outbox message failed") as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == message_id).values(**values))

