"""Rollups and retention: rolled up before raw rows go, re-runnable, late data counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from waterops.model.telemetry import Reading
from waterops.store import TelemetryStore, retention_pass, run_retention_forever

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 6


def _fill(store: TelemetryStore) -> pd.DataFrame:
    """Six days of 1-minute pressure and 5-minute flow readings from 2026-01-01."""
    rng = np.random.default_rng(11)
    times = pd.date_range(T0, periods=DAYS * 1440, freq="1min")
    values = rng.normal(32.0, 3.0, len(times))
    store.write_reading_arrays("P1", times, values)
    flow_times = times[::5]
    store.write_reading_arrays("F1", flow_times, rng.uniform(0.0, 0.3, len(flow_times)))
    return pd.DataFrame({"time": times, "value": values})


def _all_rollups(store: TelemetryStore) -> dict[tuple[str, int], pd.DataFrame]:
    return {(s, b): store.rollups(s, b) for s in ("P1", "F1") for b in (900, 3600, 86400)}


def _assert_same(a: dict[tuple[str, int], pd.DataFrame],
                 b: dict[tuple[str, int], pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key], check_exact=False, rtol=1e-12)


def test_rollup_matches_raw_resample_and_rerun_is_identical(city_store: TelemetryStore) -> None:
    _fill(city_store)
    until = T0 + timedelta(days=DAYS)
    city_store.rollup(until)
    first = _all_rollups(city_store)
    city_store.rollup(until)
    city_store.rollup(until, since=T0)
    _assert_same(first, _all_rollups(city_store))
    for bucket_s in (900, 3600, 86400):
        raw = city_store.resample("P1", T0, until, bucket_s)
        pd.testing.assert_frame_equal(first[("P1", bucket_s)], raw, check_exact=False, rtol=1e-12)
    assert first[("P1", 86400)]["count"].tolist() == [1440] * DAYS


def test_rollup_leaves_unfinished_buckets_alone(city_store: TelemetryStore) -> None:
    _fill(city_store)
    city_store.rollup(T0 + timedelta(hours=1, minutes=20))
    assert len(city_store.rollups("P1", 900)) == 5
    assert len(city_store.rollups("P1", 3600)) == 1
    assert city_store.rollups("P1", 86400).empty


def test_retention_keeps_whole_days_and_answers_as_before(city_store: TelemetryStore) -> None:
    _fill(city_store)
    end = T0 + timedelta(days=DAYS)
    before = {b: city_store.resample("P1", T0, end, b) for b in (900, 3600, 86400, 7200)}
    shanghai_days = city_store.daily("P1", T0, end, utc_offset_s=8 * 3600)
    result = city_store.apply_retention(raw_days=2, now=T0 + timedelta(days=DAYS, hours=5))
    assert result.raw_kept_from_us == int((T0 + timedelta(days=4)).timestamp()) * 1_000_000
    assert city_store.raw_kept_from() == T0 + timedelta(days=4)
    assert result.deleted_readings == 4 * 1440 + 4 * 288
    raw = city_store.readings("P1")
    assert raw["time"].min() == pd.Timestamp(T0 + timedelta(days=4))
    for bucket_s, frame in before.items():
        after = city_store.resample("P1", T0, end, bucket_s)
        pd.testing.assert_frame_equal(after, frame, check_exact=False, rtol=1e-12)
    # local (UTC+8) days over purged data come from the hourly rollups, unchanged
    pd.testing.assert_frame_equal(
        city_store.daily("P1", T0, end, utc_offset_s=8 * 3600), shanghai_days,
        check_exact=False, rtol=1e-12,
    )


def test_retention_twice_gives_the_same_rollups(city_store: TelemetryStore) -> None:
    _fill(city_store)
    now = T0 + timedelta(days=DAYS)
    retention_pass(city_store, 3, now)
    first = _all_rollups(city_store)
    again = retention_pass(city_store, 3, now)
    assert again.deleted_readings == 0 and again.late_readings_merged == 0
    _assert_same(first, _all_rollups(city_store))
    # an earlier clock never brings the watermark back
    retention_pass(city_store, 3, now - timedelta(days=2))
    assert city_store.raw_kept_from() == T0 + timedelta(days=3)
    _assert_same(first, _all_rollups(city_store))


def test_late_reading_for_a_purged_day_is_counted_once(city_store: TelemetryStore) -> None:
    _fill(city_store)
    now = T0 + timedelta(days=DAYS)
    city_store.apply_retention(2, now)
    day0 = city_store.rollups("P1", 86400).iloc[0]
    late_time = T0 + timedelta(hours=3, seconds=30)  # between two stored minutes
    city_store.write_readings([Reading("P1", late_time, 500.0)])
    city_store.rollup(now)  # must not rebuild the purged day from the one late row
    assert city_store.rollups("P1", 86400).iloc[0]["count"] == day0["count"]
    result = city_store.apply_retention(2, now)
    assert result.late_readings_merged == 1 and result.deleted_readings == 0
    city_store.apply_retention(2, now)
    day0_after = city_store.rollups("P1", 86400).iloc[0]
    assert day0_after["count"] == day0["count"] + 1
    assert day0_after["max"] == 500.0
    assert day0_after["mean"] == pytest.approx((day0["mean"] * day0["count"] + 500.0)
                                               / (day0["count"] + 1))
    assert city_store.readings("P1", end=T0 + timedelta(days=1)).empty


def test_scheduled_retention_runs_until_stopped(city_store: TelemetryStore) -> None:
    _fill(city_store)
    clock_times = iter([T0 + timedelta(days=d) for d in (3, 4, 5, 6)])
    sleeps: list[float] = []
    passes = run_retention_forever(
        city_store, every_s=86400, raw_days=1,
        should_stop=lambda: len(sleeps) >= 3,
        sleep=sleeps.append,
        clock=lambda: next(clock_times),
    )
    assert passes == 3 and sleeps == [86400] * 3
    assert city_store.raw_kept_from() == T0 + timedelta(days=4)
    assert city_store.rollups("P1", 86400)["count"].tolist()[:4] == [1440] * 4
