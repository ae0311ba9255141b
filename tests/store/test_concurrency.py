"""Two ingest processes writing the same readings at once: each reading stored once, no error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore, bulk

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_concurrent_writers_store_each_reading_once(store_url: tuple[str, str | None]) -> None:
    url, schema = store_url
    stores = [TelemetryStore.open(url, schema=schema) for _ in range(2)]
    stores[0].upsert_systems([WaterSystem("city", "City")])
    stores[0].upsert_sensors([Sensor("P1", "city", Quantity.PRESSURE)])
    n = 3 * bulk.PG_SMALL_BATCH_ROWS  # big enough for the COPY ways on PostgreSQL
    times = pd.date_range(T0, periods=n, freq="1min")
    # overlapping halves: writer 0 the first two thirds, writer 1 the last two thirds
    parts = [(times[: 2 * n // 3], np.zeros(2 * n // 3)),
             (times[n // 3 :], np.ones(n - n // 3))]
    new = [0, 0]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(i: int) -> None:
        try:
            start.wait()
            for _ in range(3):  # and each re-sends its part, as a retrying client would
                new[i] += stores[i].write_reading_arrays("P1", *parts[i])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not any(t.is_alive() for t in threads), "a writer hung"
        assert errors == []
        stored = stores[0].readings("P1")
        assert len(stored) == n and sum(new) == n
        assert stored["time"].is_unique
    finally:
        for s in stores:
            s.close()
