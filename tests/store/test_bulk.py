"""The PostgreSQL write paths: arrays in one statement for small batches; for big ones a
straight COPY when the data are new, a staged upsert when they overlap stored data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from waterops.model.telemetry import Quantity, Reading, Sensor, WaterSystem
from waterops.store import TelemetryStore, bulk

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_first_reading_wins_inside_a_fresh_batch(city_store: TelemetryStore) -> None:
    batch = [Reading("P1", T0, 5.0), Reading("P1", T0 + timedelta(minutes=1), 7.0),
             Reading("P1", T0, 6.0)]
    assert city_store.write_readings(batch) == 2
    assert city_store.readings("P1")["value"].tolist() == [5.0, 7.0]


@pytest.fixture()
def pg_store(postgres_schema: tuple[str, str]) -> TelemetryStore:
    url, schema = postgres_schema
    store = TelemetryStore.open(url, schema=schema)
    store.upsert_systems([WaterSystem("city", "City")])
    store.upsert_sensors([Sensor("P1", "city", Quantity.PRESSURE)])
    return store


BIG = 3 * bulk.PG_SMALL_BATCH_ROWS


def test_backfill_into_a_gap_is_staged_and_exact(pg_store: TelemetryStore) -> None:
    times = pd.date_range(T0, periods=BIG, freq="1min")
    values = np.arange(BIG, dtype=float)
    assert pg_store.write_reading_arrays("P1", times[::2], values[::2]) == BIG // 2
    # the odd minutes fall inside the stored span: the staged way, no duplicates
    assert pg_store.write_reading_arrays("P1", times, values + 1e6) == BIG - BIG // 2
    stored = pg_store.readings("P1")["value"].to_numpy()
    expected = np.where(np.arange(BIG) % 2 == 0, values, values + 1e6)
    np.testing.assert_array_equal(stored, expected)
    pg_store.close()


def test_a_concurrent_writer_sends_the_copy_to_the_staged_way(
    pg_store: TelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If rows appear between the overlap check and the COPY (another ingest process), the
    COPY fails on the key, is rolled back to its savepoint, and the staged insert skips them."""
    times = pd.date_range(T0, periods=BIG, freq="1min")
    half = BIG // 2
    assert pg_store.write_reading_arrays("P1", times[:half], np.zeros(half)) == half
    monkeypatch.setattr(bulk, "_overlaps_stored", lambda *args: False)  # lose the race
    assert pg_store.write_reading_arrays("P1", times, np.ones(BIG)) == BIG - half
    assert pg_store.readings("P1")["value"].tolist() == [0.0] * half + [1.0] * (BIG - half)


def test_new_big_batch_is_copied_straight_in(
    pg_store: TelemetryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged: list[int] = []
    real_staged = bulk._insert_postgres_staged

    def counting_staged(*args: object) -> int:
        staged.append(1)
        return real_staged(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_insert_postgres_staged", counting_staged)
    times = pd.date_range(T0, periods=BIG, freq="1min")
    assert pg_store.write_reading_arrays("P1", times, np.ones(BIG)) == BIG
    assert staged == []
    assert pg_store.write_reading_arrays("P1", times, np.ones(BIG)) == 0  # all stored already
    assert staged == [1]
    pg_store.close()
    pg_store.close()
