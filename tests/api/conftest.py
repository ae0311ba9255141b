"""Fixtures of the HTTP API tests: the ASGI app over SQLite and PostgreSQL, with a manual clock.

Requests go through ``fastapi.testclient.TestClient`` into the real application and the real
database; only the clock (moved by hand) and the notification adapter (a list) are chosen by
the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.conftest import FAST_ARGON2, PDF, T0, ListNotifier, ManualClock
from waterops.api.app import create_app
from waterops.api.deps import Services
from waterops.model.workdays import HolidayCalendar
from waterops.service.auth import AuthService
from waterops.service.connections import ConnectionService
from waterops.service.documents import DocumentService
from waterops.store.accounts_store import AccountsStore
from waterops.store.connections_store import ConnectionsStore

PASSWORD = "correct horse battery"
MAX_DOCUMENT_BYTES = 64 * 1024
__all__ = ["PDF", "T0"]


@dataclass
class Api:
    """A client of the app, and what the test may steer."""

    client: TestClient
    app: FastAPI
    services: Services
    clock: ManualClock
    notifier: ListNotifier

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Log in; the Authorization header of the token."""
        answer = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def customer(self, username: str, role: str = "household_customer") -> dict[str, str]:
        """Register a customer through the API and log them in."""
        answer = self.client.post(
            "/api/v1/users/register",
            json={"username": username, "password": PASSWORD, "role": role},
        )
        assert answer.status_code == 201, answer.text
        return self.login(username)

    def staff(self, username: str, role: str) -> dict[str, str]:
        """Create a staff account (through the API, by an administrator) and log them in."""
        if self.services.accounts.credentials("root-admin") is None:
            self.services.auth.create_administrator("root-admin", PASSWORD)
        admin = self.login("root-admin")
        answer = self.client.post(
            "/api/v1/users",
            headers=admin,
            json={"username": username, "password": PASSWORD, "role": role},
        )
        assert answer.status_code == 201, answer.text
        return self.login(username)


def open_accounts(request: pytest.FixtureRequest, tmp_path: Path) -> AccountsStore:
    """An accounts store on the backend of the test's parameter."""
    if request.param == "sqlite":
        return AccountsStore.open(f"sqlite:///{tmp_path / 'api.db'}")
    url, schema = request.getfixturevalue("postgres_schema")
    return AccountsStore.open(url, schema=schema)


def build(
    accounts: AccountsStore, tmp_path: Path, clock: ManualClock, notifier: ListNotifier
) -> Services:
    store = ConnectionsStore(accounts.engine)
    return Services(
        auth=AuthService(accounts, clock=clock, hasher=FAST_ARGON2),
        connections=ConnectionService(
            store, HolidayCalendar.china(), clock=clock, notifier=notifier
        ),
        documents=DocumentService(
            store, tmp_path / "documents", clock=clock, max_bytes=MAX_DOCUMENT_BYTES
        ),
        accounts=accounts,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The API over a fresh database of each backend."""
    accounts = open_accounts(request, tmp_path)
    clock, notifier = ManualClock(T0), ListNotifier()
    services = build(accounts, tmp_path, clock, notifier)
    app = create_app(services=services)
    with TestClient(app) as client:
        yield Api(client, app, services, clock, notifier)
