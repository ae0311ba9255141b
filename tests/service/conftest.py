"""Fixtures of the customer-service tests: services on SQLite and on PostgreSQL, a manual clock.

The clock is a real clock the test moves by hand (``clock.advance(hours=3)``): SLA clocks and
login back-off are tested without sleeping. Notifications go to a list adapter of the
notification port, so a test can read what the applicant was told.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from waterops.model.workdays import HolidayCalendar
from waterops.service.auth import AuthService
from waterops.service.connections import ConnectionService, Notification
from waterops.service.documents import DocumentService
from waterops.service.events import Event, EventBus
from waterops.store.accounts_store import AccountsStore
from waterops.store.connections_store import ConnectionsStore

T0 = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # Monday 09:00 Beijing time
FAST_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
"""Real argon2 with cheap parameters: the tests hash dozens of passwords."""
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


class ListNotifier:
    """The notification port's in-process adapter: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@dataclass
class World:
    """Everything a customer-service test works with."""

    auth: AuthService
    connections: ConnectionService
    documents: DocumentService
    accounts: AccountsStore
    clock: ManualClock
    notifier: ListNotifier
    events: list[Event] = field(default_factory=list)


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """Services over a fresh database of each backend."""
    if request.param == "sqlite":
        accounts = AccountsStore.open(f"sqlite:///{tmp_path / 'cs.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        accounts = AccountsStore.open(url, schema=schema)
    clock = ManualClock(T0)
    notifier = ListNotifier()
    bus = EventBus()
    store = ConnectionsStore(accounts.engine)
    built = World(
        auth=AuthService(accounts, clock=clock, hasher=FAST_ARGON2),
        connections=ConnectionService(
            store, HolidayCalendar.china(), clock=clock, notifier=notifier, bus=bus
        ),
        documents=DocumentService(
            store, tmp_path / "data" / "documents", clock=clock, max_bytes=64 * 1024
        ),
        accounts=accounts,
        clock=clock,
        notifier=notifier,
    )
    bus.subscribe(Event, built.events.append)
    try:
        yield built
    finally:
        accounts.close()
