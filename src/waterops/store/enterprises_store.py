"""Repository of enterprise accounts, their meters, visits, problems and problem history.

Tables of revision 0006. Every write runs in one transaction (:meth:`EnterprisesStore.
transaction`): a problem's state, its history line and the staff audit line are stored
together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from waterops.errors import EnterpriseError, RecordNotFoundError
from waterops.model.accounts import User
from waterops.model.enterprises import Enterprise, Problem, ProblemState, Visit
from waterops.store.accounts_store import from_us, insert_audit, to_us, users
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import database_faults, write_transaction
from waterops.store.tables import metadata

enterprises = sa.Table(
    "enterprises",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("park_id", sa.String(64), nullable=True),
    sa.Column("industry", sa.String(64), nullable=False, index=True),
    sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("customer_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True,
              index=True),
    sa.Column("tariff_name", sa.String(64), nullable=True),
    sa.Column("justified_night_flow_m3s", sa.Float, nullable=False, server_default="0"),
    sa.Column("employees", sa.Integer, nullable=True),
    sa.Column("output_per_day", sa.Float, nullable=True),
    sa.Column("output_unit", sa.String(32), nullable=False, server_default=""),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

enterprise_meters = sa.Table(
    "enterprise_meters",
    metadata,
    sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"), primary_key=True),
    sa.Column("sensor_id", sa.String(64), primary_key=True),
)

enterprise_visits = sa.Table(
    "enterprise_visits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"), nullable=False,
              index=True),
    sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("topics", sa.Text, nullable=False, server_default="[]"),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

enterprise_problems = sa.Table(
    "enterprise_problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enterprise_id", sa.Integer, sa.ForeignKey("enterprises.id"), nullable=False,
              index=True),
    sa.Column("visit_id", sa.Integer, sa.ForeignKey("enterprise_visits.id"), nullable=True),
    sa.Column("raised_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("satisfaction", sa.Integer, nullable=True),
    sa.Column("raised_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("rectified_at_us", sa.BigInteger, nullable=True),
    sa.Column("closed_at_us", sa.BigInteger, nullable=True),
)

enterprise_problem_events = sa.Table(
    "enterprise_problem_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("problem_id", sa.Integer, sa.ForeignKey("enterprise_problems.id"),
              nullable=False, index=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("state_before", sa.String(16), nullable=True),
    sa.Column("state_after", sa.String(16), nullable=False),
    sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)


@dataclass(frozen=True)
class ProblemEvent:
    """One line of a problem's history."""

    id: int
    problem_id: int
    at: datetime
    action: str
    state_before: ProblemState | None
    state_after: ProblemState
    actor_id: int
    note: str


def _time(time_us: int | None) -> datetime | None:
    return None if time_us is None else from_us(time_us)


def _enterprise(row: sa.RowMapping, meters: Sequence[str]) -> Enterprise:
    return Enterprise(
        id=row["id"], account_id=row["account_id"], name=row["name"], park_id=row["park_id"],
        industry=row["industry"], manager_id=row["manager_id"],
        customer_user_id=row["customer_user_id"], tariff_name=row["tariff_name"],
        meter_sensor_ids=tuple(meters),
        justified_night_flow_m3s=float(row["justified_night_flow_m3s"]),
        employees=row["employees"], output_per_day=row["output_per_day"],
        output_unit=row["output_unit"], created_at=from_us(row["created_at_us"]),
    )


def _visit(row: sa.RowMapping) -> Visit:
    return Visit(row["id"], row["enterprise_id"], row["manager_id"], row["visited_on"],
                 tuple(json.loads(row["topics"])), row["notes"], from_us(row["created_at_us"]))


def _problem(row: sa.RowMapping) -> Problem:
    return Problem(
        id=row["id"], enterprise_id=row["enterprise_id"], visit_id=row["visit_id"],
        raised_by_id=row["raised_by_id"], title=row["title"], description=row["description"],
        state=ProblemState(row["state"]), reason=row["reason"],
        satisfaction=row["satisfaction"], raised_at=from_us(row["raised_at_us"]),
        updated_at=from_us(row["updated_at_us"]), rectified_at=_time(row["rectified_at_us"]),
        closed_at=_time(row["closed_at_us"]),
    )


def _read_enterprises(conn: sa.Connection, query: sa.Select[Any]) -> list[Enterprise]:
    rows = conn.execute(query).mappings().all()
    ids = [r["id"] for r in rows]
    meters: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for m in conn.execute(sa.select(enterprise_meters)
                              .where(enterprise_meters.c.enterprise_id.in_(ids))
                              .order_by(enterprise_meters.c.sensor_id)).mappings():
            meters[m["enterprise_id"]].append(m["sensor_id"])
    return [_enterprise(r, meters[r["id"]]) for r in rows]


class EnterprisesTransaction:
    """Reads and writes inside one transaction (see :meth:`EnterprisesStore.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def enterprise(self, enterprise_id: int) -> Enterprise:
        """The enterprise ``enterprise_id`` or :class:`RecordNotFoundError`."""
        found = _read_enterprises(self.conn, sa.select(enterprises)
                                  .where(enterprises.c.id == enterprise_id))
        if not found:
            raise RecordNotFoundError("enterprise", enterprise_id)
        return found[0]

    def user_role(self, user_id: int) -> str | None:
        """The role of account ``user_id`` (None when there is no such account)."""
        role = self.conn.execute(sa.select(users.c.role).where(users.c.id == user_id)
                                 ).scalar_one_or_none()
        return None if role is None else str(role)

    def insert_enterprise(self, values: dict[str, Any], meters: Sequence[str],
                          at: datetime) -> int:
        """Store a new enterprise and its meters; returns its id."""
        taken = self.conn.execute(sa.select(enterprises.c.id).where(
            enterprises.c.account_id == values["account_id"])).first()
        if taken is not None:
            raise EnterpriseError(f"enterprise account {values['account_id']!r} exists already")
        new_id = int(self.conn.execute(sa.insert(enterprises).values(
            **values, created_at_us=to_us(at)).returning(enterprises.c.id)).scalar_one())
        for sensor_id in dict.fromkeys(meters):
            self.conn.execute(sa.insert(enterprise_meters).values(
                enterprise_id=new_id, sensor_id=sensor_id))
        return new_id

    def update_enterprise(self, enterprise_id: int, values: dict[str, Any],
                          meters: Sequence[str] | None) -> None:
        """Set columns of an enterprise, and replace its meters unless ``meters`` is None."""
        self.conn.execute(sa.update(enterprises).where(enterprises.c.id == enterprise_id)
                          .values(**values))
        if meters is not None:
            self.conn.execute(sa.delete(enterprise_meters)
                              .where(enterprise_meters.c.enterprise_id == enterprise_id))
            for sensor_id in dict.fromkeys(meters):
                self.conn.execute(sa.insert(enterprise_meters).values(
                    enterprise_id=enterprise_id, sensor_id=sensor_id))

    def insert_visit(self, enterprise_id: int, manager: User, visited_on: date,
                     topics: Sequence[str], notes: str, at: datetime) -> int:
        """Store a visit; returns its id."""
        return int(self.conn.execute(sa.insert(enterprise_visits).values(
            enterprise_id=enterprise_id, manager_id=manager.id, visited_on=visited_on,
            topics=json.dumps(list(topics), ensure_ascii=False), notes=notes,
            created_at_us=to_us(at)).returning(enterprise_visits.c.id)).scalar_one())

    def visit(self, visit_id: int) -> Visit:
        """The visit ``visit_id`` or :class:`RecordNotFoundError`."""
        row = self.conn.execute(sa.select(enterprise_visits)
                                .where(enterprise_visits.c.id == visit_id)).mappings().first()
        if row is None:
            raise RecordNotFoundError("enterprise visit", visit_id)
        return _visit(row)

    def insert_problem(self, enterprise_id: int, visit_id: int | None, raised_by: User,
                       title: str, description: str, at: datetime) -> int:
        """Store a new open problem and the first line of its history; returns its id."""
        new_id = int(self.conn.execute(sa.insert(enterprise_problems).values(
            enterprise_id=enterprise_id, visit_id=visit_id, raised_by_id=raised_by.id,
            title=title, description=description, state=ProblemState.OPEN.value,
            raised_at_us=to_us(at), updated_at_us=to_us(at),
        ).returning(enterprise_problems.c.id)).scalar_one())
        self.add_event(new_id, at, "raise", None, ProblemState.OPEN, raised_by, "")
        return new_id

    def problem(self, problem_id: int, *, lock: bool = False) -> Problem:
        """The problem ``problem_id`` (locked for update on PostgreSQL if ``lock``)."""
        query = sa.select(enterprise_problems).where(enterprise_problems.c.id == problem_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise RecordNotFoundError("enterprise problem", problem_id)
        return _problem(row)

    def update_problem(self, problem_id: int, **values: Any) -> None:
        """Set columns of a problem."""
        self.conn.execute(sa.update(enterprise_problems)
                          .where(enterprise_problems.c.id == problem_id).values(**values))

    def add_event(self, problem_id: int, at: datetime, action: str,
                  before: ProblemState | None, after: ProblemState, actor: User,
                  note: str) -> None:
        """One line of a problem's history."""
        self.conn.execute(sa.insert(enterprise_problem_events).values(
            problem_id=problem_id, at_us=to_us(at), action=action,
            state_before=None if before is None else before.value, state_after=after.value,
            actor_id=actor.id, note=note))

    def add_audit(self, at: datetime, actor: User, action: str, target_kind: str,
                  target_id: int, before: dict[str, Any] | None = None,
                  after: dict[str, Any] | None = None) -> None:
        """A line of the staff audit trail."""
        insert_audit(self.conn, at, actor, action, target_kind, target_id, before, after)


class EnterprisesStore:
    """Enterprises, visits and problems on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def transaction(self) -> Iterator[EnterprisesTransaction]:
        """One write transaction; everything in it is committed together or not at all."""
        with write_transaction(
            self.engine, self._writer, "write enterprise records",
            lambda reason: EnterpriseError(f"cannot store the enterprise record: {reason}"),
        ) as conn:
            yield EnterprisesTransaction(conn)

    @database_faults("read an enterprise")
    def enterprise(self, enterprise_id: int) -> Enterprise:
        """The enterprise ``enterprise_id`` or :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            return EnterprisesTransaction(conn).enterprise(enterprise_id)

    @database_faults("read an enterprise")
    def by_account(self, account_id: str) -> Enterprise:
        """The enterprise with customer account ``account_id``."""
        with self.engine.connect() as conn:
            found = _read_enterprises(conn, sa.select(enterprises)
                                      .where(enterprises.c.account_id == account_id))
        if not found:
            raise RecordNotFoundError("enterprise account", account_id)
        return found[0]

    @database_faults("list enterprises")
    def enterprises(self, *, customer_user_id: int | None = None, industry: str | None = None,
                    limit: int | None = None, offset: int = 0
                    ) -> tuple[list[Enterprise], int]:
        """A page of enterprises by id, and their total."""
        where = []
        if customer_user_id is not None:
            where.append(enterprises.c.customer_user_id == customer_user_id)
        if industry is not None:
            where.append(enterprises.c.industry == industry)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(enterprises)
                                 .where(*where)).scalar_one()
            found = _read_enterprises(conn, sa.select(enterprises).where(*where)
                                      .order_by(enterprises.c.id).limit(limit).offset(offset))
        return found, int(total)

    @database_faults("list visits")
    def visits(self, enterprise_id: int) -> list[Visit]:
        """The visits to an enterprise, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(enterprise_visits)
                                .where(enterprise_visits.c.enterprise_id == enterprise_id)
                                .order_by(enterprise_visits.c.visited_on.desc(),
                                          enterprise_visits.c.id.desc())).mappings().all()
        return [_visit(r) for r in rows]

    @database_faults("read a problem")
    def problem(self, problem_id: int) -> Problem:
        """The problem ``problem_id`` or :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            return EnterprisesTransaction(conn).problem(problem_id)

    @database_faults("list problems")
    def problems(self, *, enterprise_id: int | None = None, manager_id: int | None = None,
                 park_id: str | None = None, raised_from: datetime | None = None,
                 raised_until: datetime | None = None) -> list[Problem]:
        """Problems, oldest first: of one enterprise, of the enterprises of a manager or a
        park, raised in [raised_from, raised_until)."""
        query = sa.select(enterprise_problems).join(
            enterprises, enterprises.c.id == enterprise_problems.c.enterprise_id)
        if enterprise_id is not None:
            query = query.where(enterprise_problems.c.enterprise_id == enterprise_id)
        if manager_id is not None:
            query = query.where(enterprises.c.manager_id == manager_id)
        if park_id is not None:
            query = query.where(enterprises.c.park_id == park_id)
        if raised_from is not None:
            query = query.where(enterprise_problems.c.raised_at_us >= to_us(raised_from))
        if raised_until is not None:
            query = query.where(enterprise_problems.c.raised_at_us < to_us(raised_until))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(enterprise_problems.c.id)).mappings().all()
        return [_problem(r) for r in rows]

    @database_faults("read a problem's history")
    def problem_events(self, problem_id: int) -> list[ProblemEvent]:
        """A problem's history, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(enterprise_problem_events)
                                .where(enterprise_problem_events.c.problem_id == problem_id)
                                .order_by(enterprise_problem_events.c.id)).mappings().all()
        return [ProblemEvent(r["id"], r["problem_id"], from_us(r["at_us"]), r["action"],
                             ProblemState(r["state_before"]) if r["state_before"] else None,
                             ProblemState(r["state_after"]), r["actor_id"], r["note"])
                for r in rows]
