"""The live holder's parts: ingest paths announce committed readings on the bus, demo accounts
get fresh passwords at each start, and the key-figure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

from waterops.errors import AuthenticationError, ConfigError, UnknownSensorError
from waterops.model.accounts import Role
from waterops.model.telemetry import Quantity, Reading, Sensor, WaterSystem
from waterops.service.auth import AuthService
from waterops.service.events import Event, EventBus
from waterops.service.kpis import (
    nrw_estimate,
    volume_from_means,
)
from waterops.service.live import (
    DEMO_ACCOUNTS,
    BusPublisher,
    NotifyingStore,
    ReadingsIngested,
    day_start,
    ensure_demo_accounts,
)
from waterops.service.simulator import SensorFrame
from waterops.store.accounts_store import AccountsStore
from waterops.store.telemetry_store import TelemetryStore

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_notifying_store_announces_only_committed_readings(tmp_path: Path) -> None:
    bus, seen = EventBus(), []
    bus.subscribe(Event, seen.append)
    with TelemetryStore.open(f"sqlite:///{tmp_path / 't.db'}") as store:
        store.upsert_systems([WaterSystem("city", "City")])
        store.upsert_sensors([Sensor("P-1", "city", Quantity.PRESSURE)])
        wrapped = NotifyingStore(store, bus, "mqtt")
        assert [s.id for s in wrapped.sensors()] == ["P-1"]  # passed through
        assert wrapped.write_readings([Reading("P-1", T0, 31.0)]) == 1
        assert seen == [ReadingsIngested(("P-1",), (T0,), (31.0,), "mqtt")]
        with pytest.raises(UnknownSensorError):
            wrapped.write_readings([Reading("P-9", T0, 1.0)])
        assert len(seen) == 1  # nothing stored, nothing announced


def test_bus_publisher_leaves_lost_readings_out() -> None:
    bus, seen = EventBus(), []
    bus.subscribe(ReadingsIngested, seen.append)
    frame = SensorFrame(T0, 300, ("A", "B", "C"), np.array([1.0, np.nan, 3.0]),
                        np.array([1.0, 2.0, 3.0]))
    BusPublisher(bus).publish(frame)
    assert seen == [ReadingsIngested(("A", "C"), (T0, T0), (1.0, 3.0), "simulator")]


def test_demo_accounts_get_new_passwords_at_each_start(tmp_path: Path) -> None:
    accounts = AccountsStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    auth = AuthService(accounts, hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024,
                                                       parallelism=1))
    try:
        first = ensure_demo_accounts(auth)
        assert [(u, r) for u, r, _ in first] == list(DEMO_ACCOUNTS)
        assert {r for _, r, _ in first} == set(Role)  # one per role
        username, _role, old = first[1]
        assert auth.login(username, old, "test").token
        second = ensure_demo_accounts(auth)
        new = second[1][2]
        assert new != old
        with pytest.raises(AuthenticationError):
            auth.login(username, old, "test2")
        assert auth.login(username, new, "test3").token
        stored = accounts.credentials(username)
        assert stored is not None and new not in stored[1]  # hashed
    finally:
        accounts.close()


def test_demo_accounts_refuse_a_same_named_account_of_another_role(tmp_path: Path) -> None:
    accounts = AccountsStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    auth = AuthService(accounts, hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024,
                                                       parallelism=1))
    try:
        accounts.create_user("demo-dispatcher", "x", Role.PLANNER, at=T0)
        with pytest.raises(ConfigError, match=r"demo-dispatcher.*planner"):
            ensure_demo_accounts(auth)
    finally:
        accounts.close()


def test_nrw_and_volumes() -> None:
    nrw = nrw_estimate(1000.0, 850.0, "m")
    assert nrw.share == pytest.approx(0.15)
    assert nrw_estimate(None, 1.0, "m").share is None
    assert nrw_estimate(0.0, 0.0, "m").share is None
    day = T0
    rows = [(day, 1.5, day + timedelta(days=1)),
            (day + timedelta(days=1), 2.0, day + timedelta(days=1, hours=6)),
            (day + timedelta(days=2), float("nan"), day + timedelta(days=3))]
    assert volume_from_means(rows) == pytest.approx(1.5 * 86_400 + 2.0 * 6 * 3600)


def test_day_start_is_local_midnight() -> None:
    # 01:00 UTC is 09:00 in Shanghai: the day began at 16:00 UTC the day before
    assert day_start(datetime(2026, 11, 23, 1, 0, tzinfo=UTC), 8 * 3600) == datetime(
        2026, 11, 22, 16, 0, tzinfo=UTC)
    assert day_start(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), 8 * 3600) == datetime(
        2026, 11, 23, 16, 0, tzinfo=UTC)
