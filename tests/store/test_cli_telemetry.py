"""`waterops telemetry …` on the database WATEROPS_DATABASE_URL names (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from waterops.cli.main import main
from waterops.model.telemetry import Quantity, Sensor, WaterSystem
from waterops.store import TelemetryStore, migrate

T0 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture()
def cli_db(
    store_url: tuple[str, str | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TelemetryStore]:
    """A store with two days of 1-minute pressure, named by WATEROPS_DATABASE_URL."""
    url, schema = store_url
    if schema is not None:  # the CLI knows no schema: give the test schema via libpq options
        url = f"{url}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("WATEROPS_DATABASE_URL", url)
    store = TelemetryStore.open(url)
    store.upsert_systems([WaterSystem("city", "City")])
    store.upsert_sensors([Sensor("P-101", "city", Quantity.PRESSURE)])
    times = pd.date_range(T0, periods=2 * 1440, freq="1min")
    store.write_reading_arrays("P-101", times, np.arange(len(times), dtype=float))
    try:
        yield store
    finally:
        store.close()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_query_prints_csv_per_interval(cli_db: TelemetryStore,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["telemetry", "query", "P-101", "--from", "2026-05-01T00:00:00Z",
                 "--to", "2026-05-01T01:00:00+00:00", "--every", "15min"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "time,mean,min,max,count"
    rows = _rows(out)
    assert [r["time"] for r in rows] == [
        "2026-05-01T00:00:00Z", "2026-05-01T00:15:00Z", "2026-05-01T00:30:00Z",
        "2026-05-01T00:45:00Z"]
    assert rows[1] == {"time": "2026-05-01T00:15:00Z", "mean": "22.0", "min": "15.0",
                       "max": "29.0", "count": "15"}


def test_query_local_time_is_converted_to_utc(cli_db: TelemetryStore,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # 08:00 in Shanghai is 00:00 UTC
    assert main(["telemetry", "query", "P-101", "--from", "2026-05-01T08:00:00+08:00",
                 "--to", "2026-05-02T08:00:00+08:00", "--every", "1d"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows == [{"time": "2026-05-01T00:00:00Z", "mean": "719.5", "min": "0.0",
                     "max": "1439.0", "count": "1440"}]


def test_query_writes_the_file_asked_for(cli_db: TelemetryStore, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "reports"
    out_dir.mkdir()
    out = out_dir / "p101.csv"
    assert main(["telemetry", "query", "P-101", "--from", "2026-05-01", "--to", "2026-05-03",
                 "--every", "1h", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    rows = _rows(out.read_text())
    assert len(rows) == 48 and rows[-1]["count"] == "60"
    assert sorted(p.name for p in out_dir.iterdir()) == ["p101.csv"]  # no partial file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["P-999", "--from", "2026-05-01", "--to", "2026-05-02"], "unknown sensor 'P-999'"),
        (["P-101", "--from", "yesterday", "--to", "2026-05-02"], "--from 'yesterday'"),
        (["P-101", "--from", "2026-05-02", "--to", "2026-05-01"], "not after"),
        (["P-101", "--from", "2026-05-01", "--to", "2026-05-02", "--every", "soon"], "soon"),
    ],
)
def test_query_errors_are_one_line_and_exit_2(
    cli_db: TelemetryStore, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["telemetry", "query", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_latest_prints_each_sensor(cli_db: TelemetryStore,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["telemetry", "latest"]) == 0
    assert _rows(capsys.readouterr().out) == [
        {"sensor_id": "P-101", "time": "2026-05-02T23:59:00Z", "value": "2879.0", "flags": "0"}]


def test_retention_command_is_safe_to_rerun(cli_db: TelemetryStore,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = ["telemetry", "retention", "--raw-days", "1", "--now", "2026-05-03T06:00:00Z"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "kept from 2026-05-02T00:00:00Z" in first and "deleted 1440" in first
    assert main(args) == 0
    assert "deleted 0" in capsys.readouterr().out
    assert cli_db.rollups("P-101", 86400)["count"].tolist() == [1440, 1440]


def test_migrate_reports_the_revision(cli_db: TelemetryStore,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["telemetry", "migrate"]) == 0
    assert f"is at revision {migrate.head_revision()}" in capsys.readouterr().out


def test_query_days_of_shanghai(cli_db: TelemetryStore,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["telemetry", "query", "P-101", "--from", "2026-05-01T00:00:00+08:00",
                 "--to", "2026-05-04T00:00:00+08:00", "--every", "1d",
                 "--tz", "Asia/Shanghai"]) == 0
    rows = _rows(capsys.readouterr().out)
    # readings start at 08:00 local on 1 May and run 48 hours
    assert [(r["time"], r["count"]) for r in rows] == [
        ("2026-04-30T16:00:00Z", "960"), ("2026-05-01T16:00:00Z", "1440"),
        ("2026-05-02T16:00:00Z", "480")]


def test_query_refuses_a_daylight_saving_change(cli_db: TelemetryStore,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["telemetry", "query", "P-101", "--from", "2026-03-01", "--to", "2026-05-01",
                 "--every", "1d", "--tz", "Europe/Paris"]) == 2
    assert "daylight saving" in capsys.readouterr().err
    assert main(["telemetry", "query", "P-101", "--from", "2026-03-01", "--to", "2026-05-01",
                 "--tz", "Mars/Olympus"]) == 2
    assert "not a known time zone" in capsys.readouterr().err
