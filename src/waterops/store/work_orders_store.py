"""Repository of field work orders (工单): the order, its history, materials and links.

Every change of an order (its row, the history line, materials, links and the audit line of
the staff member) is written in one transaction (:meth:`WorkOrdersStore.transaction`), so
nothing is half-stored. Tables of revision 0007; times are integer microseconds since 1970 UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from waterops.errors import RecordNotFoundError, WorkOrderError
from waterops.model.accounts import User
from waterops.model.work_orders import (
    LinkKind,
    Material,
    Priority,
    WorkOrderKind,
    WorkOrderState,
)
from waterops.store.accounts_store import from_us, insert_audit, to_us
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import database_faults, write_transaction
from waterops.store.tables import metadata

work_orders = sa.Table(
    "work_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("node_id", sa.String(64), nullable=True),
    sa.Column("link_id", sa.String(64), nullable=True),
    sa.Column("diameter_mm", sa.Float, nullable=True),
    sa.Column("location_text", sa.Text, nullable=False, server_default=""),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("reported_at_us", sa.BigInteger, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("assignee_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("crew", sa.String(64), nullable=True),
    sa.Column("assigned_at_us", sa.BigInteger, nullable=True),
    sa.Column("en_route_at_us", sa.BigInteger, nullable=True),
    sa.Column("on_site_at_us", sa.BigInteger, nullable=True),
    sa.Column("repaired_at_us", sa.BigInteger, nullable=True),
    sa.Column("closed_at_us", sa.BigInteger, nullable=True),
    sa.Column("on_site_due_us", sa.BigInteger, nullable=False),
    sa.Column("fixed_due_us", sa.BigInteger, nullable=True),
    sa.Column("sla_basis", sa.Text, nullable=False, server_default=""),
    sa.Column("cause", sa.String(32), nullable=True),
    sa.Column("closure_note", sa.Text, nullable=False, server_default=""),
)

work_order_events = sa.Table(
    "work_order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False,
              index=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("state_before", sa.String(16), nullable=True),
    sa.Column("state_after", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)

work_order_materials = sa.Table(
    "work_order_materials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=False,
              index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
)

work_order_links = sa.Table(
    "work_order_links",
    metadata,
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("target_id", sa.Integer, primary_key=True),
    sa.Index("ix_work_order_links_target", "kind", "target_id"),
)

CREATE_ACTION = "create"
"""History action of the order's creation (there is no state before)."""
_STEP_COLUMNS = {
    WorkOrderState.ASSIGNED: "assigned_at_us",
    WorkOrderState.EN_ROUTE: "en_route_at_us",
    WorkOrderState.ON_SITE: "on_site_at_us",
    WorkOrderState.REPAIRED: "repaired_at_us",
    WorkOrderState.CLOSED: "closed_at_us",
    WorkOrderState.CANCELLED: "closed_at_us",
}
"""The column recording when an order entered each state (the first time)."""


@dataclass(frozen=True)
class WorkOrder:
    """One work order as stored (times timezone-aware UTC; ``diameter_mm`` nominal [mm])."""

    id: int
    kind: WorkOrderKind
    priority: Priority
    state: WorkOrderState
    title: str
    description: str
    node_id: str | None
    link_id: str | None
    diameter_mm: float | None
    location_text: str
    created_by: str
    reported_at: datetime
    created_at: datetime
    updated_at: datetime
    assignee_id: int | None
    crew: str | None
    assigned_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    repaired_at: datetime | None
    closed_at: datetime | None
    on_site_due: datetime
    fixed_due: datetime | None
    sla_basis: str
    cause: str | None
    closure_note: str
    materials: tuple[Material, ...] = ()
    links: tuple[tuple[LinkKind, int], ...] = ()


@dataclass(frozen=True)
class WorkOrderEvent:
    """One line of an order's history."""

    id: int
    work_order_id: int
    at: datetime
    action: str
    state_before: WorkOrderState | None
    state_after: WorkOrderState
    actor: str
    note: str


@dataclass(frozen=True)
class WorkOrderFilter:
    """What a list of orders is limited to (``None``: any)."""

    state: WorkOrderState | None = None
    states: frozenset[WorkOrderState] | None = None
    kind: WorkOrderKind | None = None
    assignee_id: int | None = None
    link: tuple[LinkKind, int] | None = None


def _time(time_us: int | None) -> datetime | None:
    return None if time_us is None else from_us(int(time_us))


def _order(row: sa.RowMapping, materials: tuple[Material, ...],
           links: tuple[tuple[LinkKind, int], ...]) -> WorkOrder:
    return WorkOrder(
        id=row["id"], kind=WorkOrderKind(row["kind"]), priority=Priority(row["priority"]),
        state=WorkOrderState(row["state"]), title=row["title"], description=row["description"],
        node_id=row["node_id"], link_id=row["link_id"], diameter_mm=row["diameter_mm"],
        location_text=row["location_text"], created_by=row["created_by"],
        reported_at=from_us(row["reported_at_us"]), created_at=from_us(row["created_at_us"]),
        updated_at=from_us(row["updated_at_us"]), assignee_id=row["assignee_id"],
        crew=row["crew"], assigned_at=_time(row["assigned_at_us"]),
        en_route_at=_time(row["en_route_at_us"]), on_site_at=_time(row["on_site_at_us"]),
        repaired_at=_time(row["repaired_at_us"]), closed_at=_time(row["closed_at_us"]),
        on_site_due=from_us(row["on_site_due_us"]), fixed_due=_time(row["fixed_due_us"]),
        sla_basis=row["sla_basis"], cause=row["cause"], closure_note=row["closure_note"],
        materials=materials, links=links,
    )


def _read_order(conn: sa.Connection, order_id: int, *, lock: bool = False) -> WorkOrder:
    query = sa.select(work_orders).where(work_orders.c.id == order_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise RecordNotFoundError("work order", order_id)
    mats = conn.execute(sa.select(work_order_materials)
                        .where(work_order_materials.c.work_order_id == order_id)
                        .order_by(work_order_materials.c.id)).mappings().all()
    links = conn.execute(sa.select(work_order_links.c.kind, work_order_links.c.target_id)
                         .where(work_order_links.c.work_order_id == order_id)
                         .order_by(work_order_links.c.kind, work_order_links.c.target_id)).all()
    return _order(row, tuple(Material(m["name"], m["quantity"], m["unit"]) for m in mats),
                  tuple((LinkKind(k), int(t)) for k, t in links))


class WorkOrdersTransaction:
    """Reads and writes inside one transaction (see :meth:`WorkOrdersStore.transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def order(self, order_id: int) -> WorkOrder:
        """The order, locked for update on PostgreSQL."""
        return _read_order(self.conn, order_id, lock=True)

    def insert_order(self, values: dict[str, Any]) -> int:
        """Store a new order in state ``created``; its id. ``values`` hold SI/us columns."""
        return int(self.conn.execute(sa.insert(work_orders).values(
            **values, state=WorkOrderState.CREATED.value,
        ).returning(work_orders.c.id)).scalar_one())

    def move(self, order_id: int, at: datetime, state: WorkOrderState, **values: Any) -> None:
        """Set the order's state (the caller checked the transition) and other columns; the
        time the order first entered ``state`` is kept in its step column."""
        column = _STEP_COLUMNS.get(state)
        current = self.conn.execute(sa.select(work_orders).where(work_orders.c.id == order_id)
                                    ).mappings().one()
        if column is not None and current[column] is None:
            values[column] = to_us(at)
        if state is WorkOrderState.ASSIGNED:  # a re-assignment restarts the journey
            values["en_route_at_us"] = None
            values["assigned_at_us"] = to_us(at)
        self.conn.execute(sa.update(work_orders).where(work_orders.c.id == order_id)
                          .values(**values, state=state.value, updated_at_us=to_us(at)))

    def add_event(self, order_id: int, at: datetime, action: str,
                  before: WorkOrderState | None, after: WorkOrderState, actor: str,
                  note: str = "") -> None:
        """One line of the order's history."""
        self.conn.execute(sa.insert(work_order_events).values(
            work_order_id=order_id, at_us=to_us(at), action=action,
            state_before=None if before is None else before.value, state_after=after.value,
            actor=actor[:64], note=note,
        ))

    def add_materials(self, order_id: int, materials: Iterable[Material]) -> None:
        """Materials used on the job."""
        rows = [{"work_order_id": order_id, "name": m.name[:128], "quantity": m.quantity,
                 "unit": m.unit[:16]} for m in materials]
        if rows:
            self.conn.execute(sa.insert(work_order_materials), rows)

    def add_link(self, order_id: int, kind: LinkKind, target_id: int) -> bool:
        """Link the order to a record; False if it was linked already."""
        exists = self.conn.execute(sa.select(sa.func.count()).select_from(work_order_links)
                                   .where(work_order_links.c.work_order_id == order_id,
                                          work_order_links.c.kind == kind.value,
                                          work_order_links.c.target_id == target_id)
                                   ).scalar_one()
        if exists:
            return False
        self.conn.execute(sa.insert(work_order_links).values(
            work_order_id=order_id, kind=kind.value, target_id=target_id))
        return True

    def add_audit(self, at: datetime, actor: User, action: str, order_id: int,
                  before: dict[str, Any] | None = None,
                  after: dict[str, Any] | None = None) -> None:
        """One audit line in this transaction."""
        insert_audit(self.conn, at, actor, action, "work_order", order_id, before, after)


class WorkOrdersStore:
    """Work orders, their history, materials and links on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def transaction(self) -> Iterator[WorkOrdersTransaction]:
        """One write transaction; everything in it is committed together or not at all."""
        with write_transaction(
            self.engine, self._writer, "write work orders",
            lambda reason: WorkOrderError(f"cannot store the work order: {reason}"),
        ) as conn:
            yield WorkOrdersTransaction(conn)

    @database_faults("read a work order")
    def order(self, order_id: int) -> WorkOrder:
        """The order ``order_id`` with its materials and links."""
        with self.engine.connect() as conn:
            return _read_order(conn, order_id)

    @database_faults("list work orders")
    def orders(self, where: WorkOrderFilter | None = None, *, limit: int | None = None,
               offset: int = 0) -> tuple[list[WorkOrder], int]:
        """A page of orders, newest first, and their total."""
        f = where or WorkOrderFilter()
        clauses: list[sa.ColumnElement[bool]] = []
        if f.state is not None:
            clauses.append(work_orders.c.state == f.state.value)
        if f.states is not None:
            clauses.append(work_orders.c.state.in_(sorted(s.value for s in f.states)))
        if f.kind is not None:
            clauses.append(work_orders.c.kind == f.kind.value)
        if f.assignee_id is not None:
            clauses.append(work_orders.c.assignee_id == f.assignee_id)
        if f.link is not None:
            clauses.append(work_orders.c.id.in_(
                sa.select(work_order_links.c.work_order_id)
                .where(work_order_links.c.kind == f.link[0].value,
                       work_order_links.c.target_id == f.link[1])))
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(work_orders)
                                 .where(*clauses)).scalar_one()
            ids = conn.execute(
                sa.select(work_orders.c.id).where(*clauses)
                .order_by(work_orders.c.created_at_us.desc(), work_orders.c.id.desc())
                .limit(limit).offset(offset)).scalars().all()
            return [_read_order(conn, int(i)) for i in ids], int(total)

    @database_faults("read a work order's history")
    def events(self, order_id: int) -> list[WorkOrderEvent]:
        """The order's history, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(work_order_events)
                                .where(work_order_events.c.work_order_id == order_id)
                                .order_by(work_order_events.c.id)).mappings().all()
        return [WorkOrderEvent(r["id"], r["work_order_id"], from_us(r["at_us"]), r["action"],
                               WorkOrderState(r["state_before"]) if r["state_before"] else None,
                               WorkOrderState(r["state_after"]), r["actor"], r["note"])
                for r in rows]
