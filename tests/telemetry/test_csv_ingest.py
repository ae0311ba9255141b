"""CSV ingest into the store, on SQLite and PostgreSQL (the ``store`` fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from waterops.errors import ConfigError, PayloadError
from waterops.model.telemetry import QualityFlag, Quantity
from waterops.store import TelemetryStore
from waterops.telemetry.csv_ingest import ingest_csv
from waterops.units import KPA_PER_M_HEAD


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _stored(store: TelemetryStore, sensor_id: str) -> pd.DataFrame:
    return store.readings(sensor_id)


def _count_all(store: TelemetryStore, sensor_ids: list[str]) -> int:
    return sum(len(store.readings(s)) for s in sensor_ids)


def test_wide_file_with_unit_row_and_local_time(city_store: TelemetryStore, tmp_path: Path) -> None:
    csv = _write(
        tmp_path / "scada.csv",
        "Timestamp,P1,F1\n"
        "unit,kPa,m3/h\n"
        "2024-05-01 08:00:00,300,36\n"
        "2024-05-01 08:01:00,,72\n"
        "2024-05-01 08:02:00+08:00,310,36\n",
    )
    summary = ingest_csv(city_store, csv, tz="Asia/Shanghai")
    assert (summary.layout, summary.rows, summary.readings, summary.new) == ("wide", 3, 5, 5)
    p1 = _stored(city_store, "P1")
    assert p1["time"].tolist() == [
        pd.Timestamp("2024-05-01 00:00", tz="UTC"), pd.Timestamp("2024-05-01 00:02", tz="UTC")
    ]
    np.testing.assert_allclose(p1["value"], [300 / KPA_PER_M_HEAD, 310 / KPA_PER_M_HEAD])
    np.testing.assert_allclose(_stored(city_store, "F1")["value"], [0.01, 0.02, 0.01])


def test_long_file_units_per_row_and_option_wins(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(
        tmp_path / "long.csv",
        "sensor,time,value,unit\n"
        "P1,2024-05-01T00:00:00Z,3,bar\n"
        "P1,2024-05-01T00:01:00Z,30,\n"
        "F1,2024-05-01T00:00:00Z,5,L/s\n"
        "CL1,2024-05-01T00:00:00Z,0.4,\n",
    )
    ingest_csv(city_store, csv)
    np.testing.assert_allclose(_stored(city_store, "P1")["value"], [300 / KPA_PER_M_HEAD, 30.0])
    np.testing.assert_allclose(_stored(city_store, "F1")["value"], [0.005])
    np.testing.assert_allclose(_stored(city_store, "CL1")["value"], [0.4])

    other = _write(tmp_path / "other.csv", "sensor,time,value,unit\nF1,2024-05-02T00:00Z,36,L/s\n")
    ingest_csv(city_store, other, units={"F1": "m3/h"})  # the option wins over the column
    np.testing.assert_allclose(_stored(city_store, "F1")["value"], [0.005, 0.01])


def test_unit_that_does_not_fit_the_sensor_is_named(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(tmp_path / "u.csv", "Timestamp,P1,F1\nunit,L/s,\n2024-05-01 00:00,1,0.1\n")
    with pytest.raises(PayloadError, match=r"u\.csv:2: unit 'L/s' measures flow; sensor P1"):
        ingest_csv(city_store, csv)
    csv = _write(tmp_path / "v.csv", "Timestamp,P1\nunit,furlong\n2024-05-01 00:00,1\n")
    with pytest.raises(PayloadError, match=r"v\.csv:2:2: unknown unit 'furlong'"):
        ingest_csv(city_store, csv)
    assert _count_all(city_store, ["P1", "F1"]) == 0


def test_unknown_sensor_rejects_the_file_and_stores_nothing(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    wide = _write(tmp_path / "w.csv", "Timestamp,P1,PT-9,XYZ\n2024-05-01 00:00,30,31,1\n")
    with pytest.raises(PayloadError, match=r"2 unknown sensor\(s\): PT-9, XYZ.*nothing stored"):
        ingest_csv(city_store, wide)
    long = _write(
        tmp_path / "l.csv", "sensor,time,value\nP1,2024-05-01 00:00,30\nGHOST,2024-05-01 00:00,1\n"
    )
    with pytest.raises(PayloadError, match=r"unknown sensor.*GHOST"):
        ingest_csv(city_store, long, chunk_rows=1)
    assert _count_all(city_store, ["P1"]) == 0
    assert {s.id for s in city_store.sensors()} == {"P1", "F1", "CL1"}


def test_create_sensors_guesses_quantity_and_interval(
    store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(
        tmp_path / "pumproom.csv",
        "Timestamp,PT-101,FT-7,CL2_out,S-P1\n"
        + "".join(
            f"2024-05-01 00:{m:02d}:00,{30 + m % 3},{0.05},{0.4},{m % 2}\n" for m in range(0, 50, 5)
        ),
    )
    summary = ingest_csv(store, csv, create_sensors=True, system_id="township")
    assert summary.created_sensors == ["PT-101", "FT-7", "CL2_out", "S-P1"]
    sensors = {s.id: s for s in store.sensors()}
    assert sensors["PT-101"].quantity is Quantity.PRESSURE
    assert sensors["FT-7"].quantity is Quantity.FLOW
    assert sensors["CL2_out"].quantity is Quantity.CHLORINE
    assert sensors["S-P1"].quantity is Quantity.PUMP_STATUS
    assert sensors["PT-101"].interval_s == 300.0
    assert sensors["PT-101"].system_id == "township"
    assert [s.id for s in store.systems()] == ["township"]
    assert summary.new == 40


def test_create_sensors_needs_a_quantity_and_a_system(
    store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(tmp_path / "odd.csv", "Timestamp,XYZ\n2024-05-01 00:00,1\n")
    with pytest.raises(ConfigError, match="--system"):
        ingest_csv(store, csv, create_sensors=True)
    with pytest.raises(PayloadError, match="cannot tell what sensor 'XYZ' measures"):
        ingest_csv(store, csv, create_sensors=True, system_id="city")
    ingest_csv(store, csv, create_sensors=True, system_id="city", quantity=Quantity.TURBIDITY)
    assert store.get_sensor("XYZ").quantity is Quantity.TURBIDITY


def test_created_sensors_roll_back_with_a_bad_file(store: TelemetryStore, tmp_path: Path) -> None:
    csv = _write(
        tmp_path / "bad.csv",
        "Timestamp,PT-1\n" + "".join(f"2024-05-01 00:{m:02d},{m}\n" for m in range(30)) +
        "2024-05-01 00:30,oops\n",
    )
    with pytest.raises(PayloadError, match=r"bad\.csv:32:2: value 'oops' is not a finite number"):
        ingest_csv(store, csv, create_sensors=True, system_id="city", chunk_rows=7)
    assert store.sensors() == []
    assert store.systems() == []


def test_reingest_is_idempotent(city_store: TelemetryStore, tmp_path: Path) -> None:
    csv = _write(
        tmp_path / "p.csv",
        "Timestamp,P1\n" + "".join(f"2024-05-01 00:{m:02d},{30 + m / 10}\n" for m in range(20)),
    )
    first = ingest_csv(city_store, csv)
    before = _stored(city_store, "P1")
    again = ingest_csv(city_store, csv, chunk_rows=3)
    assert (first.new, first.duplicates) == (20, 0)
    assert (again.new, again.duplicates) == (0, 20)
    pd.testing.assert_frame_equal(_stored(city_store, "P1"), before)


def test_repeated_rows_inside_a_file_are_stored_once(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(
        tmp_path / "rep.csv",
        "sensor,time,value\n"
        "P1,2024-05-01 00:00,30\nP1,2024-05-01 00:00,99\nP1,2024-05-01 00:01,31\n",
    )
    summary = ingest_csv(city_store, csv)
    assert (summary.readings, summary.new, summary.duplicates) == (3, 2, 1)
    assert _stored(city_store, "P1")["value"].tolist() == [30.0, 31.0]  # first one wins


def _pressure_series(n: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    rng = np.random.default_rng(7)
    times = pd.date_range("2024-05-01", periods=n, freq="1min", tz="UTC")
    values = (35 + 3 * np.sin(np.arange(n) / 60) + rng.normal(0, 0.2, n)).round(3)
    values[100] = 70.0  # spike (inside the 0-80 m limits)
    values[200] = 95.0  # spike and out of range
    values[300:600] = 33.3  # stuck for 5 h
    return times, values


def _long_csv(path: Path, times: pd.DatetimeIndex, values: np.ndarray, order: np.ndarray) -> Path:
    frame = pd.DataFrame(
        {"sensor": "P1", "time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": values}
    )
    frame.iloc[order].to_csv(path, index=False)
    return path


def test_flags_as_documented_and_independent_of_chunks_and_row_order(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    times, values = _pressure_series(700)
    keep = np.ones(700, dtype=bool)
    keep[400:410] = False  # a 11-minute silence for a sensor reporting every 60 s
    times, values = times[keep], values[keep]
    n = len(times)
    shuffled = np.random.default_rng(3).permutation(n)
    _long_csv(tmp_path / "shuffled.csv", times, values, shuffled)
    summary = ingest_csv(city_store, tmp_path / "shuffled.csv", chunk_rows=50_000)
    stored = _stored(city_store, "P1")
    flags = stored["flags"].to_numpy()
    spike, out_of_range = int(QualityFlag.SPIKE), int(QualityFlag.OUT_OF_RANGE)
    assert flags[100] & spike and not flags[100] & out_of_range
    assert flags[200] & spike and flags[200] & out_of_range
    flat = np.flatnonzero(flags & int(QualityFlag.FLATLINE))
    # flagged from 4 h after the value stuck on (the silence inside the run counts as stuck)
    assert stored["time"].iloc[flat.min()] == times[300] + pd.Timedelta(hours=4)
    assert flat.max() == 589  # the run ends at index 600 of the series, 590 once 10 are gone
    assert len(flat) == 589 - flat.min() + 1
    gap = np.flatnonzero(flags & int(QualityFlag.GAP))
    assert gap.tolist() == [400]  # the first reading after the silence
    assert summary.flagged["gap"] == 1
    np.testing.assert_array_equal(stored["value"].to_numpy(), values)  # raw values untouched

    # The same series in time-ordered pieces (several files, small chunks): same flags
    other = TelemetryStore.open(f"sqlite:///{tmp_path / 'pieces.db'}")
    try:
        other.upsert_systems(city_store.systems())
        other.upsert_sites(city_store.sites())
        other.upsert_sensors(city_store.sensors())
        for i, (lo, hi) in enumerate([(0, 150), (150, 151), (151, 420), (420, n)]):
            piece = _long_csv(tmp_path / f"piece{i}.csv", times[lo:hi], values[lo:hi],
                              np.arange(hi - lo))
            ingest_csv(other, piece, chunk_rows=37)
        np.testing.assert_array_equal(_stored(other, "P1")["flags"].to_numpy(), flags)
    finally:
        other.close()


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("Timestamp,P1\n2024-05-01 00:00,30\n2024-05-01 00:01,abc\n", ":3:2", "value 'abc'"),
        ("Timestamp,P1\n2024-05-01 00:00,30\n\n2024-05-01 00:01,NaN\n", ":4:2", "value 'NaN'"),
        ("Timestamp,P1\n2024-05-01 00:00,30\n2024-05-01 00:01,inf\n", ":3:2", "finite"),
        ("Timestamp,P1\n2024-05-01 00:00,30\nyesterday,31\n", ":3:1", "cannot read time"),
        ("P1,Timestamp\n30,\n", ":2:2", "the time is empty"),
        ("sensor,time,value\nP1,2024-05-01 00:00,\n", ":2:3", "the value is empty"),
        ("sensor,time,value\n,2024-05-01 00:00,1\n", ":2:1", "the sensor is empty"),
        ("when,P1\n2024-05-01 00:00,30\n", ":1", "no Timestamp column"),
        ("Timestamp,P1,P1\n2024-05-01 00:00,30,30\n", ":1", "named twice"),
    ],
)
def test_bad_cells_are_named_by_line_and_column(
    city_store: TelemetryStore, tmp_path: Path, text: str, where: str, reason: str
) -> None:
    csv = _write(tmp_path / "bad.csv", text)
    with pytest.raises(PayloadError) as info:
        ingest_csv(city_store, csv, chunk_rows=1)
    assert str(info.value).startswith(f"{csv}{where}")
    assert reason in str(info.value)
    assert _count_all(city_store, ["P1"]) == 0


def test_local_time_that_does_not_exist_is_an_error(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    # clocks in Berlin jumped from 02:00 to 03:00 on 2024-03-31
    csv = _write(tmp_path / "dst.csv", "Timestamp,P1\n2024-03-31 01:30,30\n2024-03-31 02:30,31\n")
    with pytest.raises(PayloadError, match=r"dst\.csv:3:1: local time '2024-03-31 02:30'"):
        ingest_csv(city_store, csv, tz="Europe/Berlin")
    with pytest.raises(ConfigError, match="unknown time zone"):
        ingest_csv(city_store, csv, tz="Mars/Olympus")
    ingest_csv(city_store, csv, tz="Asia/Shanghai")  # no daylight saving in China
    assert _stored(city_store, "P1")["time"].iloc[0] == datetime(2024, 3, 30, 17, 30, tzinfo=UTC)


def test_gbk_encoded_export(store: TelemetryStore, tmp_path: Path) -> None:
    csv = _write(tmp_path / "gbk.csv", "Timestamp,出厂压力\n2024-05-01 08:00,0.35\n", "gbk")
    with pytest.raises(PayloadError, match="encoding"):
        ingest_csv(store, csv)
    ingest_csv(
        store, csv, encoding="gbk", create_sensors=True, system_id="city",
        quantity=Quantity.PRESSURE, units={"出厂压力": "MPa"}, tz="Asia/Shanghai",
    )
    np.testing.assert_allclose(_stored(store, "出厂压力")["value"], [350 / KPA_PER_M_HEAD])


def test_earlier_file_after_a_later_one_is_flagged_against_its_own_past(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    times, values = _pressure_series(700)
    one_go = TelemetryStore.open(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        one_go.upsert_systems(city_store.systems())
        one_go.upsert_sites(city_store.sites())
        one_go.upsert_sensors(city_store.sensors())
        ingest_csv(one_go, _long_csv(tmp_path / "all.csv", times, values, np.arange(700)))
        expected = _stored(one_go, "P1")["flags"].to_numpy()
    finally:
        one_go.close()
    # the later half arrives first; the earlier half then comes in small chunks: each of its
    # readings has its whole past in the database (or in the file) and gets the same flags
    later = _long_csv(tmp_path / "later.csv", times[350:], values[350:], np.arange(350))
    earlier = _long_csv(tmp_path / "earlier.csv", times[:350], values[:350], np.arange(350))
    ingest_csv(city_store, later)
    ingest_csv(city_store, earlier, chunk_rows=40)
    stored = _stored(city_store, "P1")["flags"].to_numpy()
    np.testing.assert_array_equal(stored[:350], expected[:350])
    assert expected[100] & int(QualityFlag.SPIKE) and expected[200] & int(QualityFlag.SPIKE)


def test_stored_readings_between_chunks_are_context(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    times, values = _pressure_series(300)
    minutes = np.r_[0:51, 201:251]
    # readings of minutes 100-200 are stored already; the file brings 0-50, then 201-250
    ingest_csv(city_store, _long_csv(tmp_path / "mid.csv", times[100:201], values[100:201],
                                     np.arange(101)))
    ingest_csv(city_store, _long_csv(tmp_path / "ends.csv", times[minutes], values[minutes],
                                     np.arange(len(minutes))), chunk_rows=51)
    stored = _stored(city_store, "P1").set_index("time")["flags"]
    # minute 201 follows minute 200 (stored), not minute 50 (the file's previous chunk)
    assert stored[times[201]] & int(QualityFlag.GAP) == 0
    assert stored[times[100]] & int(QualityFlag.GAP) == 0  # stored first: had no past
    assert stored[times[200]] & int(QualityFlag.SPIKE)


def test_created_sensor_unit_must_fit_its_guessed_quantity(
    store: TelemetryStore, tmp_path: Path
) -> None:
    csv = _write(
        tmp_path / "u.csv",
        "sensor,time,value,unit\nFT-1,2024-05-01 00:00,5,L/s\nPT-1,2024-05-01 00:00,5,L/s\n",
    )
    with pytest.raises(PayloadError, match=r"u\.csv:3:4: unit 'L/s' measures flow; sensor PT-1"):
        ingest_csv(store, csv, create_sensors=True, system_id="city")
    assert store.sensors() == []


def test_a_failed_file_leaves_no_reader_thread_behind(
    city_store: TelemetryStore, tmp_path: Path
) -> None:
    import threading

    before = threading.active_count()
    rows = "".join(f"2024-05-01 00:{m % 60:02d},{m}\n" for m in range(200))
    csv = _write(tmp_path / "t.csv", "Timestamp,P1\n" + rows + "2024-05-02 00:00,x\n" + rows)
    for _ in range(3):
        with pytest.raises(PayloadError, match=r"t\.csv:202:2"):
            ingest_csv(city_store, csv, chunk_rows=10)
    assert threading.active_count() == before
    assert _count_all(city_store, ["P1"]) == 0
