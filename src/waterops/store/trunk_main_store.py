"""Repository of the trunk main's recorded failures (the events that reset its safe-operation
day counter). Table of revision 0007; the failure and its audit line are one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from waterops.errors import StoreError, TrunkMainError
from waterops.model.accounts import User
from waterops.store.accounts_store import from_us, insert_audit, to_us
from waterops.store.engine import WRITE_OPTION
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.tables import metadata

trunk_main_failures = sa.Table(
    "trunk_main_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("main_id", sa.String(64), nullable=False),
    sa.Column("occurred_at_us", sa.BigInteger, nullable=False),
    sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("link_id", sa.String(64), nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id"), nullable=True),
    sa.Index("ix_trunk_main_failures_main_id", "main_id", "occurred_at_us"),
)


@dataclass(frozen=True)
class TrunkMainFailure:
    """A failure of the trunk main (burst, joint failure, forced shutdown), as recorded."""

    id: int
    main_id: str
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str
    link_id: str | None
    description: str
    work_order_id: int | None


def _failure(row: sa.RowMapping) -> TrunkMainFailure:
    return TrunkMainFailure(row["id"], row["main_id"], from_us(row["occurred_at_us"]),
                            from_us(row["recorded_at_us"]), row["recorded_by"], row["link_id"],
                            row["description"], row["work_order_id"])


class TrunkMainStore:
    """Trunk-main failures on SQLite or PostgreSQL (engine migrated to head)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    def record_failure(self, main_id: str, occurred_at: datetime, recorded_at: datetime,
                       by: User, *, link_id: str | None = None, description: str = "",
                       work_order_id: int | None = None) -> TrunkMainFailure:
        """Store a failure and its audit line (one transaction); the stored record."""
        try:
            with self._writer.begin() as conn:
                new_id = int(conn.execute(sa.insert(trunk_main_failures).values(
                    main_id=main_id, occurred_at_us=to_us(occurred_at),
                    recorded_at_us=to_us(recorded_at), recorded_by=by.username[:64],
                    link_id=link_id, description=description, work_order_id=work_order_id,
                ).returning(trunk_main_failures.c.id)).scalar_one())
                insert_audit(conn, recorded_at, by, "trunk_main_failure", "trunk_failure",
                             new_id, None, {"main_id": main_id, "link_id": link_id,
                                            "occurred_at": occurred_at.isoformat(),
                                            "work_order_id": work_order_id})
                row = conn.execute(sa.select(trunk_main_failures)
                                   .where(trunk_main_failures.c.id == new_id)).mappings().one()
        except sa.exc.IntegrityError as exc:
            raise TrunkMainError(f"cannot record the failure: {reason_of(exc)}") from exc
        except DATABASE_FAULTS as exc:
            where = self.engine.url.render_as_string()
            raise StoreError(f"{where}: cannot record a trunk-main failure: "
                             f"{reason_of(exc)}") from exc
        return _failure(row)

    @database_faults("read trunk-main failures")
    def last_failure(self, main_id: str, before: datetime | None = None
                     ) -> TrunkMainFailure | None:
        """The latest failure of ``main_id`` that occurred at or before ``before`` (any)."""
        query = sa.select(trunk_main_failures).where(trunk_main_failures.c.main_id == main_id)
        if before is not None:
            query = query.where(trunk_main_failures.c.occurred_at_us <= to_us(before))
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(trunk_main_failures.c.occurred_at_us.desc(),
                                              trunk_main_failures.c.id.desc()).limit(1)
                               ).mappings().first()
        return None if row is None else _failure(row)

    @database_faults("list trunk-main failures")
    def failures(self, main_id: str, *, limit: int | None = None,
                 offset: int = 0) -> tuple[list[TrunkMainFailure], int]:
        """A page of ``main_id``'s failures, latest first, and their total."""
        where = trunk_main_failures.c.main_id == main_id
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(trunk_main_failures)
                                 .where(where)).scalar_one()
            rows = conn.execute(sa.select(trunk_main_failures).where(where)
                                .order_by(trunk_main_failures.c.occurred_at_us.desc(),
                                          trunk_main_failures.c.id.desc())
                                .limit(limit).offset(offset)).mappings().all()
        return [_failure(r) for r in rows], int(total)
