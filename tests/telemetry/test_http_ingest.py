"""The batch service function (HTTP route): store good readings, dead-letter bad ones, report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from waterops.model.telemetry import QualityFlag, Quantity, Sensor
from waterops.store import TelemetryStore
from waterops.telemetry.http_ingest import (
    QualityFlagger,
    SensorRegistry,
    clean_text,
    ingest_batch,
)
from waterops.telemetry.payloads import PayloadLimits

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _batch(n: int, sensor: str = "P1", start: datetime = T0) -> dict[str, object]:
    return {
        "sensor": sensor,
        "unit": "kPa",
        "readings": [
            {"time": (start + timedelta(minutes=i)).isoformat(), "value": 9.80665 * (i + 1)}
            for i in range(n)
        ],
    }


def test_batch_is_stored_in_si_and_reported(city_store: TelemetryStore) -> None:
    report = ingest_batch(city_store, json.dumps(_batch(5)).encode(), source="http test")
    assert (report.received, report.stored, report.duplicates, report.rejected) == (5, 5, 0, [])
    frame = city_store.readings("P1")
    assert frame["value"].tolist() == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])
    assert frame["time"].iloc[0] == T0


def test_the_same_batch_twice_is_stored_once(city_store: TelemetryStore) -> None:
    ingest_batch(city_store, _batch(5), source="http test")
    again = ingest_batch(city_store, _batch(7), source="http test")
    assert (again.stored, again.duplicates) == (2, 5)
    assert len(city_store.readings("P1")) == 7


def test_out_of_order_batches(city_store: TelemetryStore) -> None:
    ingest_batch(city_store, _batch(3, start=T0 + timedelta(minutes=10)), source="late")
    ingest_batch(city_store, _batch(3, start=T0), source="early")
    times = city_store.readings("P1")["time"]
    assert times.is_monotonic_increasing and len(times) == 6


def test_bad_items_are_dead_lettered_and_good_ones_kept(city_store: TelemetryStore) -> None:
    body = {
        "readings": [
            {"sensor": "P1", "time": T0.isoformat(), "value": 30.0},
            {"sensor": "P1", "time": T0.isoformat(), "value": float("nan")},
            {"sensor": "F1", "time": T0.isoformat(), "value": 20, "unit": "L/s"},
            {"sensor": "nope", "time": T0.isoformat(), "value": 1},
            {"sensor": "F1", "time": T0.isoformat(), "value": 1, "unit": "bar"},
        ]
    }
    report = ingest_batch(city_store, json.dumps(body), source="http 10.0.0.7")
    assert (report.received, report.stored) == (5, 2)
    assert [d.source for d in report.rejected] == [
        "http 10.0.0.7#1", "http 10.0.0.7#3", "http 10.0.0.7#4",
    ]
    kept = city_store.dead_letters().sort_values("source")
    assert kept["source"].tolist() == [d.source for d in report.rejected]
    assert kept["reason"].str.contains("unknown sensor 'nope'").any()
    assert kept["reason"].str.contains("measures pressure; sensor F1 measures flow").any()
    assert city_store.readings("F1")["value"].tolist() == pytest.approx([0.02])


def test_a_body_bad_as_a_whole_is_one_dead_letter(city_store: TelemetryStore) -> None:
    report = ingest_batch(city_store, b"\x00\xffnot json", source="http 10.0.0.8")
    assert report.stored == 0 and len(report.rejected) == 1
    assert "not JSON" in report.rejected[0].reason
    [payload] = city_store.dead_letters()["payload"].tolist()
    assert payload == "\\x00\\xffnot json"  # NUL and bad UTF-8 escaped, never a DB error


def test_a_sensor_registered_after_the_registry_was_read_is_found(
    city_store: TelemetryStore,
) -> None:
    registry = SensorRegistry(city_store, max_age_s=3600, min_reload_interval_s=0)
    registry.current()
    city_store.upsert_sensors([Sensor("L9", "city", Quantity.LEVEL)])
    body = {"sensor": "L9", "time": T0.isoformat(), "value": 2.5}
    report = ingest_batch(city_store, body, source="http", registry=registry)
    assert report.stored == 1 and report.rejected == []


def test_time_limits_are_configurable(city_store: TelemetryStore) -> None:
    limits = PayloadLimits.at(T0 + timedelta(days=2), max_age_s=86_400)
    report = ingest_batch(city_store, _batch(2), source="http", limits=limits)
    assert report.stored == 0
    assert all("days old" in d.reason for d in report.rejected)


def test_clean_text_bounds_what_is_kept() -> None:
    assert clean_text("a\x00b") == "a\\x00b"
    assert clean_text("x" * 50, limit=10).startswith("x" * 10 + "… [40 more")


def _minutes(minutes: list[int], values: list[float]) -> dict[str, object]:
    return {
        "sensor": "P1",
        "readings": [
            {"time": (T0 + timedelta(minutes=m)).isoformat(), "value": v}
            for m, v in zip(minutes, values, strict=True)
        ],
    }


@pytest.mark.parametrize("shared_flagger", [True, False])
def test_readings_are_stored_with_quality_flags_judged_against_the_stored_series(
    city_store: TelemetryStore, shared_flagger: bool
) -> None:
    flagger = QualityFlagger(city_store) if shared_flagger else None
    # P1: limits 0-80 m, a reading expected every 60 s (a gap is more than 3 intervals)
    ingest_batch(city_store, _minutes([0, 1, 2], [30.0, 31.0, 95.0]), source="a", flagger=flagger)
    # the next request: its first reading follows a 10-minute silence after the stored ones
    ingest_batch(city_store, _minutes([12, 13], [30.0, 30.5]), source="b", flagger=flagger)
    flags = city_store.readings("P1")["flags"].tolist()
    assert flags == [0, 0, QualityFlag.OUT_OF_RANGE, QualityFlag.GAP, 0]
    # a late reading (out of order) is judged against what is stored around it
    ingest_batch(city_store, _minutes([5], [-20.0]), source="late", flagger=flagger)
    late = city_store.readings("P1", T0 + timedelta(minutes=5), T0 + timedelta(minutes=6))
    assert late["flags"].tolist() == [QualityFlag.OUT_OF_RANGE]  # 3 min after minute 2: no gap


def test_the_raw_value_is_kept_beside_its_flag(city_store: TelemetryStore) -> None:
    ingest_batch(city_store, _minutes([0], [1e6]), source="a")
    frame = city_store.readings("P1")
    assert (frame["value"].iloc[0], frame["flags"].iloc[0]) == (1e6, QualityFlag.OUT_OF_RANGE)
