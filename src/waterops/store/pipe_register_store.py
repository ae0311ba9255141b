"""Repository of pipe registers (pipes, break and leak history) and renewal plans.

Tables of revision 0008. The store speaks in tables (pandas DataFrames with the columns of
:mod:`waterops.planning.register`) and plain values; the planning layer above it turns them
into its typed register. Replacing a system's register, or saving a plan with its pipes and
the staff audit line, is one transaction: all of it is stored or none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from waterops.errors import RecordNotFoundError, RegisterError
from waterops.model.accounts import User
from waterops.store.accounts_store import from_us, insert_audit, to_us
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import database_faults, write_transaction
from waterops.store.tables import metadata

register_histories = sa.Table(
    "register_histories",
    metadata,
    sa.Column("system", sa.String(64), primary_key=True),
    sa.Column("first_year", sa.Integer, nullable=False),
    sa.Column("last_year", sa.Integer, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)

register_pipes = sa.Table(
    "register_pipes",
    metadata,
    sa.Column("system", sa.String(64), primary_key=True),
    sa.Column("pipe_id", sa.String(64), primary_key=True),
    sa.Column("material", sa.String(16), nullable=False),
    sa.Column("diameter_m", sa.Float, nullable=False),
    sa.Column("install_year", sa.Integer, nullable=False),
    sa.Column("length_m", sa.Float, nullable=False),
    sa.Column("road_id", sa.String(64), nullable=False),
    sa.Column("road_class", sa.String(16), nullable=False),
    sa.Column("pressure_m", sa.Float, nullable=True),
    sa.Index("ix_register_pipes_road", "system", "road_id"),
)

register_breaks = sa.Table(
    "register_breaks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(64), nullable=False),
    sa.Column("pipe_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.ForeignKeyConstraint(["system", "pipe_id"],
                            ["register_pipes.system", "register_pipes.pipe_id"]),
    sa.Index("ix_register_breaks_pipe", "system", "pipe_id"),
)

renewal_plans = sa.Table(
    "renewal_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("start_year", sa.Integer, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("years", sa.Text, nullable=False),
    sa.Column("risk_reduction_yuan", sa.Float, nullable=False),
    sa.Column("cost_yuan", sa.Float, nullable=False),
    sa.Column("mip_gap", sa.Float, nullable=True),
    sa.Column("solve_time_s", sa.Float, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

renewal_plan_pipes = sa.Table(
    "renewal_plan_pipes",
    metadata,
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("renewal_plans.id"), primary_key=True),
    sa.Column("pipe_id", sa.String(64), primary_key=True),
    sa.Column("road_id", sa.String(64), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("length_m", sa.Float, nullable=False),
    sa.Column("cost_yuan", sa.Float, nullable=False),
    sa.Column("risk_reduction_yuan", sa.Float, nullable=False),
)

PIPE_FIELDS = ("material", "diameter_m", "install_year", "length_m", "road_id", "road_class",
               "pressure_m")
PLAN_PIPE_FIELDS = ("pipe_id", "road_id", "year", "length_m", "cost_yuan",
                    "risk_reduction_yuan")
_CHUNK = 5_000


@dataclass(frozen=True)
class StoredRegister:
    """A system's register as stored: pipes (index pipe_id), breaks, history years."""

    system: str
    pipes: pd.DataFrame
    breaks: pd.DataFrame
    history_years: tuple[int, int]


@dataclass(frozen=True)
class StoredPlan:
    """A saved renewal plan.

    Attributes
    ----------
    id, system, name, method, status, start_year : what and how
    options : the options it was made with (JSON object)
    years : per-year figures (list of JSON objects)
    risk_reduction_yuan, cost_yuan, mip_gap, solve_time_s : results
    created_by : the planner's user id (None from the command line)
    created_at : when it was saved (UTC)
    pipes : one row per renewed pipe (:data:`PLAN_PIPE_FIELDS`)
    """

    id: int
    system: str
    name: str
    method: str
    status: str
    start_year: int
    options: dict[str, Any]
    years: list[dict[str, Any]]
    risk_reduction_yuan: float
    cost_yuan: float
    mip_gap: float | None
    solve_time_s: float
    created_by: int | None
    created_at: datetime
    pipes: pd.DataFrame


def _none_if_nan(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


class PipeRegisterStore:
    """Pipe registers and renewal plans on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sa.Connection]:
        where = self.engine.url.render_as_string()
        with write_transaction(
            self.engine, self._writer, action,
            lambda reason: RegisterError(where, f"cannot {action}: {reason}"),
        ) as conn:
            yield conn

    def replace_register(self, system: str, pipes: pd.DataFrame, breaks: pd.DataFrame,
                         history_years: tuple[int, int], at: datetime,
                         actor: User | None = None) -> int:
        """Replace the register of ``system`` (pipes, breaks, history) in one transaction.

        ``pipes`` is indexed by pipe id with :data:`PIPE_FIELDS`; ``breaks`` has pipe_id, date,
        kind. Returns the number of pipes stored. With ``actor``, an audit line is written.
        """
        pipe_rows = [
            {"system": system, "pipe_id": str(pipe_id),
             **{f: _none_if_nan(row[f]) for f in PIPE_FIELDS}}
            for pipe_id, row in zip(pipes.index, pipes.to_dict("records"), strict=True)
        ]
        for row in pipe_rows:
            row["install_year"] = int(row["install_year"])  # type: ignore[call-overload]
        break_rows = [
            {"system": system, "pipe_id": str(p), "day": pd.Timestamp(d).date(), "kind": str(k)}
            for p, d, k in zip(breaks["pipe_id"], breaks["date"], breaks["kind"], strict=True)
        ]
        with self._transaction(f"store the pipe register of {system!r}") as conn:
            before = conn.execute(sa.select(sa.func.count()).select_from(register_pipes)
                                  .where(register_pipes.c.system == system)).scalar_one()
            conn.execute(sa.delete(register_breaks).where(register_breaks.c.system == system))
            conn.execute(sa.delete(register_pipes).where(register_pipes.c.system == system))
            conn.execute(sa.delete(register_histories)
                         .where(register_histories.c.system == system))
            conn.execute(sa.insert(register_histories).values(
                system=system, first_year=int(history_years[0]),
                last_year=int(history_years[1]), updated_at_us=to_us(at)))
            for start in range(0, len(pipe_rows), _CHUNK):
                conn.execute(sa.insert(register_pipes), pipe_rows[start:start + _CHUNK])
            for start in range(0, len(break_rows), _CHUNK):
                conn.execute(sa.insert(register_breaks), break_rows[start:start + _CHUNK])
            if actor is not None:
                insert_audit(conn, at, actor, "pipe_register.replace", "pipe_register",
                             len(pipe_rows), {"system": system, "pipes": int(before)},
                             {"system": system, "pipes": len(pipe_rows),
                              "breaks": len(break_rows)})
        return len(pipe_rows)

    @database_faults("read a pipe register")
    def systems(self) -> list[str]:
        """Systems that have a register."""
        with self.engine.connect() as conn:
            return [str(s) for s in conn.execute(
                sa.select(register_histories.c.system).order_by(register_histories.c.system)
            ).scalars()]

    @database_faults("read a pipe register")
    def register(self, system: str) -> StoredRegister:
        """The register of ``system`` or :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            history = conn.execute(sa.select(register_histories)
                                   .where(register_histories.c.system == system)
                                   ).mappings().first()
            if history is None:
                raise RecordNotFoundError("pipe register", system)
            pipes = _pipes_frame(conn.execute(
                sa.select(register_pipes).where(register_pipes.c.system == system)
                .order_by(register_pipes.c.pipe_id)).mappings().all())
            rows = conn.execute(sa.select(register_breaks.c.pipe_id, register_breaks.c.day,
                                          register_breaks.c.kind)
                                .where(register_breaks.c.system == system)
                                .order_by(register_breaks.c.day, register_breaks.c.id)).all()
        breaks = pd.DataFrame({"pipe_id": [r[0] for r in rows],
                               "date": pd.to_datetime([r[1] for r in rows]).astype(
                                   "datetime64[s]"),
                               "kind": [r[2] for r in rows]})
        return StoredRegister(system, pipes, breaks,
                              (int(history["first_year"]), int(history["last_year"])))

    @database_faults("read pipes")
    def pipes_page(self, system: str, limit: int, offset: int, *,
                   road_id: str | None = None, material: str | None = None
                   ) -> tuple[pd.DataFrame, int, dict[str, int]]:
        """One page of a system's pipes (by pipe id) with the total and breaks per pipe."""
        where = [register_pipes.c.system == system]
        if road_id is not None:
            where.append(register_pipes.c.road_id == road_id)
        if material is not None:
            where.append(register_pipes.c.material == material)
        with self.engine.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(register_pipes)
                                     .where(*where)).scalar_one())
            rows = conn.execute(sa.select(register_pipes).where(*where)
                                .order_by(register_pipes.c.pipe_id)
                                .limit(limit).offset(offset)).mappings().all()
            ids = [r["pipe_id"] for r in rows]
            counts: dict[str, int] = {}
            if ids:
                counts = {str(p): int(n) for p, n in conn.execute(
                    sa.select(register_breaks.c.pipe_id, sa.func.count())
                    .where(register_breaks.c.system == system,
                           register_breaks.c.pipe_id.in_(ids))
                    .group_by(register_breaks.c.pipe_id)).all()}
        return _pipes_frame(rows), total, counts

    def save_plan(self, system: str, name: str, summary: Mapping[str, Any],
                  pipes: pd.DataFrame, at: datetime, actor: User | None = None) -> int:
        """Store a plan (summary fields of :class:`StoredPlan`, its pipes); returns its id."""
        with self._transaction("save the renewal plan") as conn:
            plan_id = int(conn.execute(sa.insert(renewal_plans).values(
                system=system, name=name, method=summary["method"], status=summary["status"],
                start_year=int(summary["start_year"]),
                options=json.dumps(summary["options"], ensure_ascii=False),
                years=json.dumps(summary["years"], ensure_ascii=False),
                risk_reduction_yuan=float(summary["risk_reduction_yuan"]),
                cost_yuan=float(summary["cost_yuan"]),
                mip_gap=_none_if_nan(float(summary["mip_gap"])),
                solve_time_s=float(summary["solve_time_s"]),
                created_by=None if actor is None else actor.id, created_at_us=to_us(at),
            ).returning(renewal_plans.c.id)).scalar_one())
            rows = [{"plan_id": plan_id, **{f: row[f] for f in PLAN_PIPE_FIELDS}}
                    for row in pipes.to_dict("records")]
            for row in rows:
                row["year"] = int(row["year"])
                row["pipe_id"], row["road_id"] = str(row["pipe_id"]), str(row["road_id"])
            for start in range(0, len(rows), _CHUNK):
                conn.execute(sa.insert(renewal_plan_pipes), rows[start:start + _CHUNK])
            if actor is not None:
                insert_audit(conn, at, actor, "renewal_plan.create", "renewal_plan", plan_id,
                             None, {"system": system, "name": name, "pipes": len(rows),
                                    "cost_yuan": float(summary["cost_yuan"])})
        return plan_id

    @database_faults("read a renewal plan")
    def plan(self, plan_id: int) -> StoredPlan:
        """The plan ``plan_id`` with its pipes, or :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(renewal_plans).where(renewal_plans.c.id == plan_id)
                               ).mappings().first()
            if row is None:
                raise RecordNotFoundError("renewal plan", plan_id)
            pipes = conn.execute(sa.select(*[renewal_plan_pipes.c[f] for f in
                                             PLAN_PIPE_FIELDS])
                                 .where(renewal_plan_pipes.c.plan_id == plan_id)
                                 .order_by(renewal_plan_pipes.c.year,
                                           renewal_plan_pipes.c.road_id,
                                           renewal_plan_pipes.c.pipe_id)).all()
        table = pd.DataFrame([tuple(p) for p in pipes], columns=list(PLAN_PIPE_FIELDS))
        return _plan(row, table)

    @database_faults("read renewal plans")
    def plans(self, system: str | None = None) -> list[StoredPlan]:
        """Saved plans (without their pipes), newest first."""
        query = sa.select(renewal_plans).order_by(renewal_plans.c.id.desc())
        if system is not None:
            query = query.where(renewal_plans.c.system == system)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_plan(r, pd.DataFrame(columns=list(PLAN_PIPE_FIELDS))) for r in rows]


def _pipes_frame(rows: Sequence[sa.RowMapping]) -> pd.DataFrame:
    table = pd.DataFrame([{f: r[f] for f in PIPE_FIELDS} for r in rows],
                         index=pd.Index([str(r["pipe_id"]) for r in rows], name="pipe_id"),
                         columns=list(PIPE_FIELDS))
    table["pressure_m"] = pd.to_numeric(table["pressure_m"]).astype(float)
    table["install_year"] = table["install_year"].astype("int64")
    for column in ("diameter_m", "length_m"):
        table[column] = table[column].astype(float)
    return table


def _plan(row: sa.RowMapping, pipes: pd.DataFrame) -> StoredPlan:
    gap = row["mip_gap"]
    return StoredPlan(
        id=int(row["id"]), system=row["system"], name=row["name"], method=row["method"],
        status=row["status"], start_year=int(row["start_year"]),
        options=json.loads(row["options"]), years=json.loads(row["years"]),
        risk_reduction_yuan=float(row["risk_reduction_yuan"]),
        cost_yuan=float(row["cost_yuan"]), mip_gap=None if gap is None else float(gap),
        solve_time_s=float(row["solve_time_s"]), created_by=row["created_by"],
        created_at=from_us(row["created_at_us"]), pipes=pipes,
    )

