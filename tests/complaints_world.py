"""What the complaint and notice tests work with: the demo utility's layout, a store of each
backend with accounts, telemetry, alarms, complaints and notices, and a clock moved by hand.

Used by ``tests/test_complaints*.py``, ``tests/test_notices*.py`` and the API tests of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pandas as pd
import pytest

from waterops.data import demo_network_path
from waterops.io.inp import read_inp
from waterops.model.accounts import Role, User
from waterops.model.telemetry import Reading
from waterops.model.utility import UtilityLayout
from waterops.service.complaints import ComplaintService, Diagnoser, NetworkLocator
from waterops.service.connections import Notification
from waterops.service.notices import NoticeService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.accounts_store import AccountsStore
from waterops.store.alarms_store import AlarmStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.notices_store import NoticesStore
from waterops.store.telemetry_store import TelemetryStore

T0 = datetime(2026, 11, 23, 2, 20, tzinfo=UTC)  # Monday 10:20 Beijing time
"""When the test complaints arrive."""


@lru_cache(maxsize=1)
def demo() -> tuple[UtilityLayout, pd.DataFrame]:
    """The demo utility's layout and its node coordinates (built once per test process)."""
    layout = build_demo_utility()
    return layout, read_inp(demo_network_path()).coordinates


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class ListNotifier:
    """The notification port's in-process adapter: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@dataclass
class World:
    """Stores and services over one fresh database."""

    accounts: AccountsStore
    telemetry: TelemetryStore
    alarms: AlarmStore
    complaints_store: ComplaintsStore
    notices_store: NoticesStore
    complaints: ComplaintService
    notices: NoticeService
    clock: ManualClock
    notifier: ListNotifier
    layout: UtilityLayout
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str, role: Role) -> User:
        """A stored account (the tests here do not log in, so the hash is a placeholder)."""
        if name not in self.users:
            self.users[name] = self.accounts.create_user(
                name, "not-a-hash", role, at=self.clock(), email=f"{name}@example.org")
        return self.users[name]


def open_world(request: pytest.FixtureRequest, tmp_path_db: str) -> World:
    """A :class:`World` on SQLite (``request.param == "sqlite"``) or a fresh PG schema."""
    if request.param == "sqlite":
        accounts = AccountsStore.open(f"sqlite:///{tmp_path_db}")
        schema = None
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        accounts = AccountsStore.open(url, schema=schema)
    engine = accounts.engine
    layout, xy = demo()
    telemetry = TelemetryStore(engine, schema=schema)
    telemetry.upsert_systems(layout.systems)
    telemetry.upsert_sites(layout.sites)
    telemetry.upsert_sensors(layout.sensors)
    alarms = AlarmStore(engine)
    complaints_store, notices_store = ComplaintsStore(engine), NoticesStore(engine)
    clock, notifier = ManualClock(T0), ListNotifier()
    diagnoser = Diagnoser(layout, telemetry=telemetry, alarms=alarms, notices=notices_store)
    complaints = ComplaintService(complaints_store, NetworkLocator(layout, xy), diagnoser,
                                  notices=notices_store, clock=clock, notifier=notifier)
    notices = NoticeService(notices_store, layout, known_nodes=frozenset(map(str, xy.index)),
                            clock=clock)
    return World(accounts, telemetry, alarms, complaints_store, notices_store, complaints,
                 notices, clock, notifier, layout)


def write_booster_trip(telemetry: TelemetryStore, layout: UtilityLayout, room_id: str,
                       trip_at: datetime, until: datetime) -> None:
    """Minute readings of a pump room whose duty booster stops at ``trip_at``: pumps off, no
    flow, building pressure 4 m; tank full, city feed and neighbours normal (30 m)."""
    from waterops.detection.pump_rooms import pump_room_sensors

    sensors = next(s for s in pump_room_sensors(layout) if s.room_id == room_id)
    batch = []
    t = trip_at - timedelta(minutes=30)
    while t <= until:
        tripped = t >= trip_at
        batch.append(Reading(sensors.building_pressure, t, 4.0 if tripped else 32.0))
        for pump in sensors.pump_status:
            batch.append(Reading(pump, t, 0.0 if tripped or pump.endswith("P2") else 1.0))
        for pump in sensors.pump_flow:
            batch.append(Reading(pump, t, 0.0 if tripped or pump.endswith("P2") else 0.004))
        if sensors.tank_level:
            batch.append(Reading(sensors.tank_level, t, 2.5))
        if sensors.inlet_pressure:
            batch.append(Reading(sensors.inlet_pressure, t, 30.0))
        for n in sensors.neighbour_pressures:
            batch.append(Reading(n, t, 30.0))
        t += timedelta(minutes=1)
    telemetry.write_readings(batch)
