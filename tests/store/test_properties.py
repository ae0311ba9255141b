"""Property-based: whatever the order and repetition of a batch, the store keeps each
(sensor, time) once with its first value, and resampling agrees with pandas."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waterops.model.telemetry import Quantity, Reading, Sensor
from waterops.store import TelemetryStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)
_names = itertools.count()

readings_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3 * 86_400 * 1000),  # ms after T0
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(readings_strategy, min_size=1, max_size=3),
       every_s=st.sampled_from([1, 60, 900, 3600, 86400, 7 * 60 + 3]))
def test_any_order_and_repetition(
    city_store: TelemetryStore, batches: list[list[tuple[int, float]]], every_s: int
) -> None:
    sensor = f"H{next(_names)}"  # a fresh sensor per example: examples share the database
    city_store.upsert_sensors([Sensor(sensor, "city", Quantity.FLOW)])
    first: dict[int, float] = {}
    for batch in batches:
        new = {}
        for ms, value in batch:
            if ms not in first and ms not in new:
                new[ms] = value
        written = city_store.write_readings(
            [Reading(sensor, T0 + timedelta(milliseconds=ms), v) for ms, v in batch]
        )
        assert written == len(new)
        first.update(new)
    stored = city_store.readings(sensor)
    expected = pd.DataFrame(
        {"time": pd.Timestamp(T0) + pd.to_timedelta(sorted(first), unit="ms"),
         "value": [first[ms] for ms in sorted(first)]}
    )
    np.testing.assert_array_equal(stored["value"].to_numpy(), expected["value"].to_numpy())
    assert (stored["time"].to_numpy() == expected["time"].to_numpy()).all()

    end = T0 + timedelta(days=4)
    got = city_store.resample(sensor, T0, end, every_s)
    want = expected.groupby(expected["time"].dt.floor(f"{every_s}s"))["value"].agg(
        ["mean", "min", "max", "count"])
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(got["min"], want["min"])
    np.testing.assert_array_equal(got["max"], want["max"])
    np.testing.assert_array_equal(got["count"], want["count"])
