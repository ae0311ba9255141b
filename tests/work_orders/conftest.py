"""Fixtures of the work-order and trunk-main tests: a migrated database of each backend with
staff accounts, and a clock moved by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from waterops.model.accounts import Role, User
from waterops.service.work_orders import WorkOrderService
from waterops.store.accounts_store import AccountsStore

T0 = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)  # Monday 02:00 Beijing time


class Clock:
    """Now, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class World:
    accounts: AccountsStore
    clock: Clock
    service: WorkOrderService
    dispatcher: User
    crew_a: User
    crew_b: User
    agent: User
    planner: User
    customer: User


def _user(accounts: AccountsStore, name: str, role: Role) -> User:
    return accounts.create_user(name, "not-a-real-hash", role, display_name=name.upper(),
                                at=T0 - timedelta(days=30))


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        accounts = AccountsStore.open(f"sqlite:///{tmp_path / 'wo.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        accounts = AccountsStore.open(url, schema=schema)
    clock = Clock(T0)
    try:
        yield World(accounts, clock, WorkOrderService(accounts.engine, clock=clock),
                    _user(accounts, "disp1", Role.DISPATCHER),
                    _user(accounts, "crew-a", Role.FIELD_CREW),
                    _user(accounts, "crew-b", Role.FIELD_CREW),
                    _user(accounts, "agent1", Role.SERVICE_AGENT),
                    _user(accounts, "planner1", Role.PLANNER),
                    _user(accounts, "cust1", Role.HOUSEHOLD_CUSTOMER))
    finally:
        accounts.close()
