"""Writing readings: idempotent, order-free, all-or-nothing, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from waterops.errors import PayloadError, UnknownSensorError
from waterops.model.telemetry import QualityFlag, Reading
from waterops.store import TelemetryStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _minutes(sensor: str, minutes: range, value0: float = 0.0) -> list[Reading]:
    return [Reading(sensor, T0 + timedelta(minutes=m), value0 + m) for m in minutes]


def test_same_reading_twice_is_stored_once(city_store: TelemetryStore) -> None:
    assert city_store.write_readings(_minutes("P1", range(10))) == 10
    assert city_store.write_readings(_minutes("P1", range(5, 15))) == 5
    stored = city_store.readings("P1")
    assert len(stored) == 15
    assert stored["value"].tolist() == [float(m) for m in range(15)]


def test_first_value_wins_on_duplicate(city_store: TelemetryStore) -> None:
    city_store.write_readings([Reading("P1", T0, 30.0)])
    assert city_store.write_readings([Reading("P1", T0, 99.0), Reading("P1", T0, 98.0)]) == 0
    assert city_store.readings("P1")["value"].tolist() == [30.0]


def test_duplicates_inside_one_batch_are_stored_once(city_store: TelemetryStore) -> None:
    batch = _minutes("P1", range(3)) * 2
    assert city_store.write_readings(batch) == 3


def test_out_of_order_data_is_stored_in_time_order(city_store: TelemetryStore) -> None:
    shuffled = _minutes("P1", range(50))
    np.random.default_rng(4).shuffle(shuffled)  # type: ignore[arg-type]
    assert city_store.write_readings(shuffled) == 50
    stored = city_store.readings("P1")
    assert stored["time"].is_monotonic_increasing
    assert stored["value"].tolist() == [float(m) for m in range(50)]


def test_times_keep_microseconds_and_come_back_utc(city_store: TelemetryStore) -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=shanghai)
    city_store.write_readings([Reading("P1", local, 1.0)])
    stored = city_store.readings("P1")["time"].iloc[0]
    assert stored.to_pydatetime() == datetime(2026, 5, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert str(stored.tz) == "UTC"


def test_unknown_sensor_rejects_the_whole_batch(city_store: TelemetryStore) -> None:
    batch = [*_minutes("P1", range(5)), Reading("ghost-1", T0, 1.0), Reading("ghost-2", T0, 1.0)]
    with pytest.raises(UnknownSensorError, match="'ghost-1' \\(and 1 more unknown\\)"):
        city_store.write_readings(batch)
    assert city_store.readings("P1").empty


def test_naive_time_is_refused(city_store: TelemetryStore) -> None:
    with pytest.raises(PayloadError, match="no timezone"):
        city_store.write_readings([Reading("P1", datetime(2026, 5, 1), 1.0)])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_value_rejects_the_batch_naming_it(
    city_store: TelemetryStore, bad: float
) -> None:
    batch = [*_minutes("P1", range(3)), Reading("F1", T0, bad)]
    with pytest.raises(PayloadError, match="sensor F1 at 2026-05-01T00:00:00"):
        city_store.write_readings(batch)
    assert city_store.readings("P1").empty


def test_flags_are_stored_beside_the_value(city_store: TelemetryStore) -> None:
    flags = QualityFlag.SPIKE | QualityFlag.OUT_OF_RANGE
    city_store.write_readings([Reading("P1", T0, 120.0, flags)])
    stored = city_store.readings("P1")
    assert stored["value"].tolist() == [120.0]
    assert QualityFlag(int(stored["flags"].iloc[0])) == flags


def test_unknown_flag_bits_are_refused(city_store: TelemetryStore) -> None:
    with pytest.raises(PayloadError, match="quality flags 64"):
        city_store.write_reading_arrays("P1", [T0], [1.0], [64])


def test_set_flags_never_touches_values(city_store: TelemetryStore) -> None:
    city_store.write_readings(_minutes("P1", range(4), 10.0))
    times = [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), T0 + timedelta(hours=9)]
    assert city_store.set_flags("P1", times, [QualityFlag.FLATLINE] * 3) == 2
    stored = city_store.readings("P1")
    assert stored["flags"].tolist() == [0, 2, 2, 0]
    assert stored["value"].tolist() == [10.0, 11.0, 12.0, 13.0]


def test_columnar_write_with_one_sensor_for_all_rows(city_store: TelemetryStore) -> None:
    times = pd.date_range("2026-05-01", periods=1000, freq="1min", tz="UTC")
    values = np.linspace(20.0, 40.0, 1000)
    assert city_store.write_reading_arrays("P1", times, values) == 1000
    assert city_store.write_reading_arrays("P1", times, values) == 0
    stored = city_store.readings("P1")
    np.testing.assert_array_equal(stored["value"].to_numpy(), values)
    assert (stored["time"] == pd.Series(times)).all()


def test_columnar_write_of_several_sensors_mixed(city_store: TelemetryStore) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    ids = rng.choice(np.array(["P1", "F1", "CL1"], dtype=object), n)
    minutes = rng.permutation(n)  # distinct times, shuffled
    times = np.datetime64("2026-05-01T00:00", "us") + minutes.astype("timedelta64[m]")
    values = rng.normal(30.0, 2.0, n)
    assert city_store.write_reading_arrays(ids, times, values) == n
    for sensor in ("P1", "F1", "CL1"):
        mine = ids == sensor
        stored = city_store.readings(sensor)
        expected = pd.DataFrame({"t": times[mine], "v": values[mine]}).sort_values("t")
        np.testing.assert_array_equal(stored["value"].to_numpy(), expected["v"].to_numpy())


def test_arrays_of_different_lengths_are_refused(city_store: TelemetryStore) -> None:
    with pytest.raises(PayloadError, match="differ in length"):
        city_store.write_reading_arrays(["P1", "P1"], [T0, T0], [1.0])


def test_empty_batch_writes_nothing(city_store: TelemetryStore) -> None:
    assert city_store.write_readings([]) == 0


def test_dead_letters_are_kept_with_their_reason(store: TelemetryStore) -> None:
    received = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert store.add_dead_letters(
        [("waterops/city/dma-1/P1", "{not json", "not JSON"),
         ("waterops/city/dma-1/P9", '{"v": 1}', "unknown sensor P9")],
        received_at=received,
    ) == 2
    assert store.count_dead_letters() == 2
    letters = store.dead_letters()
    assert letters["reason"].tolist() == ["unknown sensor P9", "not JSON"]
    assert letters["payload"].iloc[1] == "{not json"
    assert (letters["received_at"] == pd.Timestamp(received)).all()
    assert len(store.dead_letters(limit=1)) == 1
