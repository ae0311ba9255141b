"""Latest values and resampling, checked against pandas on the same readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from waterops.errors import PayloadError, UnknownSensorError
from waterops.model.telemetry import Reading
from waterops.store import RESAMPLE_COLUMNS, TelemetryStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _random_series(seed: int, n: int = 2000) -> pd.DataFrame:
    """Readings every ~37 s on average, irregular, with a 3-hour gap, over ~1 day."""
    rng = np.random.default_rng(seed)
    offsets_s = np.cumsum(rng.integers(1, 75, n))
    offsets_s[n // 2 :] += 3 * 3600  # a gap
    times = pd.Timestamp(T0) + pd.to_timedelta(offsets_s, unit="s")
    return pd.DataFrame({"time": times, "value": rng.normal(35.0, 5.0, n)})


def _expected(series: pd.DataFrame, start: datetime, end: datetime, every_s: int) -> pd.DataFrame:
    inside = series[(series["time"] >= start) & (series["time"] < end)]
    bucket = inside["time"].dt.floor(f"{every_s}s")
    grouped = inside.groupby(bucket)["value"].agg(["mean", "min", "max", "count"])
    return grouped.reset_index(names="time")


@pytest.mark.parametrize("every_s", [60, 420, 900, 3600, 86400])
def test_resample_matches_pandas(city_store: TelemetryStore, every_s: int) -> None:
    series = _random_series(seed=every_s)
    city_store.write_reading_arrays("P1", series["time"], series["value"])
    start, end = T0 + timedelta(minutes=7), T0 + timedelta(hours=20)
    got = city_store.resample("P1", start, end, every_s)
    want = _expected(series, start, end, every_s)
    assert tuple(got.columns) == RESAMPLE_COLUMNS
    assert len(got) == len(want) > 0
    assert (got["time"].to_numpy() == want["time"].to_numpy()).all()
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-12)
    np.testing.assert_array_equal(got["min"], want["min"])
    np.testing.assert_array_equal(got["max"], want["max"])
    np.testing.assert_array_equal(got["count"], want["count"])


def test_resample_only_reads_the_asked_sensor(city_store: TelemetryStore) -> None:
    city_store.write_readings([Reading("P1", T0, 10.0), Reading("F1", T0, 0.2)])
    got = city_store.resample("F1", T0, T0 + timedelta(hours=1), 900)
    assert got[["mean", "count"]].values.tolist() == [[0.2, 1]]


def test_resample_of_empty_range_is_empty_with_columns(city_store: TelemetryStore) -> None:
    got = city_store.resample("P1", T0, T0 + timedelta(hours=1), 900)
    assert got.empty and tuple(got.columns) == RESAMPLE_COLUMNS


def test_resample_refuses_bad_interval_and_unknown_sensor(city_store: TelemetryStore) -> None:
    with pytest.raises(PayloadError, match="interval"):
        city_store.resample("P1", T0, T0 + timedelta(hours=1), 0)
    with pytest.raises(UnknownSensorError, match="'P7'"):
        city_store.resample("P7", T0, T0 + timedelta(hours=1), 900)


def test_daily_aggregates_are_utc_days(city_store: TelemetryStore) -> None:
    times = pd.date_range(T0, periods=3 * 24, freq="1h")
    city_store.write_reading_arrays("P1", times, np.arange(72, dtype=float))
    got = city_store.daily("P1", T0, T0 + timedelta(days=3))
    assert got["time"].dt.strftime("%Y-%m-%dT%H:%MZ").tolist() == [
        "2026-05-01T00:00Z", "2026-05-02T00:00Z", "2026-05-03T00:00Z"]
    assert got["mean"].tolist() == [11.5, 35.5, 59.5]
    assert got["count"].tolist() == [24, 24, 24]


def test_latest_value_per_sensor(city_store: TelemetryStore) -> None:
    city_store.write_readings(
        [Reading("P1", T0 + timedelta(minutes=m), 30.0 + m) for m in (5, 1, 9, 3)]
        + [Reading("F1", T0, 0.1), Reading("F1", T0 - timedelta(days=1), 0.3)]
    )
    latest = city_store.latest()
    assert latest["sensor_id"].tolist() == ["F1", "P1"]  # CL1 has no readings
    assert latest["value"].tolist() == [0.1, 39.0]
    assert latest["time"].iloc[1] == pd.Timestamp(T0 + timedelta(minutes=9))
    only = city_store.latest(["P1"])
    assert only["sensor_id"].tolist() == ["P1"]
    assert city_store.latest([]).empty


@pytest.mark.parametrize(("every_s", "offset_s"), [(86400, 8 * 3600), (3600, 1800),
                                                   (900, -5 * 3600)])
def test_resample_on_a_local_clock_matches_pandas(
    city_store: TelemetryStore, every_s: int, offset_s: int
) -> None:
    series = _random_series(seed=offset_s % 97)
    city_store.write_reading_arrays("P1", series["time"], series["value"])
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=3)
    got = city_store.resample("P1", start, end, every_s, utc_offset_s=offset_s)
    shift = pd.Timedelta(seconds=offset_s)
    bucket = (series["time"] + shift).dt.floor(f"{every_s}s") - shift
    want = series.groupby(bucket)["value"].agg(["mean", "min", "max", "count"])
    assert (got["time"].to_numpy() == want.index.to_numpy()).all()
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-12)
    np.testing.assert_array_equal(got["count"], want["count"])


def test_shanghai_days_start_at_1600_utc(city_store: TelemetryStore) -> None:
    times = pd.date_range(T0, periods=48, freq="1h")  # 08:00 local on 1 May onwards
    city_store.write_reading_arrays("P1", times, np.ones(48))
    got = city_store.daily("P1", T0 - timedelta(days=1), T0 + timedelta(days=3),
                           utc_offset_s=8 * 3600)
    assert got["time"].dt.strftime("%m-%dT%H").tolist() == ["04-30T16", "05-01T16", "05-02T16"]
    assert got["count"].tolist() == [16, 24, 8]


def test_offset_beyond_any_time_zone_is_refused(city_store: TelemetryStore) -> None:
    with pytest.raises(PayloadError, match="UTC offset"):
        city_store.resample("P1", T0, T0 + timedelta(days=1), 3600, utc_offset_s=20 * 3600)
