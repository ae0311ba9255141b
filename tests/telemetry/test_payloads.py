"""Telemetry payloads: the documented formats parse to SI readings; every bad case says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from waterops.errors import PayloadError
from waterops.model.telemetry import Reading, Sensor
from waterops.telemetry.payloads import (
    PayloadLimits,
    Topic,
    batch_topic,
    format_batch,
    parse_message,
    parse_time,
    parse_topic,
    reading_to_json,
    sensor_topic,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMITS = PayloadLimits.at(NOW)
T0 = "2026-11-23T10:00:00Z"


def parse(body: object, sensors: dict[str, Sensor], topic: str | None = None) -> list[Reading]:
    text = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed = parse_message(
        text,
        source="test",
        sensors=sensors,
        limits=LIMITS,
        topic=None if topic is None else parse_topic(topic),
    )
    assert not parsed.rejected, parsed.rejected
    return parsed.readings


def reason(body: object, sensors: dict[str, Sensor], topic: str | None = None) -> str:
    text = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(PayloadError) as info:
        parse_message(
            text,
            source="test",
            sensors=sensors,
            limits=LIMITS,
            topic=None if topic is None else parse_topic(topic),
        )
    assert info.value.source == "test"
    return info.value.reason


def test_one_reading_in_bar_becomes_metres_of_head(sensors: dict[str, Sensor]) -> None:
    [r] = parse({"sensor": "P-101", "time": T0, "value": 3.2, "unit": "bar"}, sensors)
    assert r.sensor_id == "P-101"
    assert r.time == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert r.value == pytest.approx(3.2 * 100 / 9.80665)


@pytest.mark.parametrize(
    ("unit", "value", "expected_si"),
    [
        ("kPa", 98.0665, 10.0),
        ("MPa", 0.3, 300 / 9.80665),
        ("mH2O", 25.0, 25.0),
        ("m", 25.0, 25.0),
    ],
)
def test_pressure_units(
    sensors: dict[str, Sensor], unit: str, value: float, expected_si: float
) -> None:
    [r] = parse({"sensor": "P-101", "time": T0, "value": value, "unit": unit}, sensors)
    assert r.value == pytest.approx(expected_si)


@pytest.mark.parametrize(
    ("unit", "value", "expected_m3s"),
    [("L/s", 25.0, 0.025), ("m3/h", 360.0, 0.1), ("m3/s", 0.2, 0.2)],
)
def test_flow_units(
    sensors: dict[str, Sensor], unit: str, value: float, expected_m3s: float
) -> None:
    [r] = parse({"sensor": "F-201", "time": T0, "value": value, "unit": unit}, sensors)
    assert r.value == pytest.approx(expected_m3s)


def test_no_unit_means_the_sensors_si_unit(sensors: dict[str, Sensor]) -> None:
    [r] = parse({"sensor": "F-201", "time": T0, "value": 0.125}, sensors)
    assert r.value == 0.125


def test_time_with_offset_and_epoch_ms(sensors: dict[str, Sensor]) -> None:
    local = parse({"sensor": "P-101", "time": "2026-11-23T18:00:00+08:00", "value": 1}, sensors)
    epoch_ms = int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp() * 1000)
    as_ms = parse({"sensor": "P-101", "time": epoch_ms, "value": 1}, sensors)
    assert local[0].time == as_ms[0].time == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert local[0].time.tzinfo is UTC


def test_pump_status_may_be_a_boolean(sensors: dict[str, Sensor]) -> None:
    [on] = parse({"sensor": "PS-501", "time": T0, "value": True}, sensors)
    assert on.value == 1.0
    assert "boolean" in reason({"sensor": "P-101", "time": T0, "value": True}, sensors)


def test_batch_with_defaults_keeps_good_items_and_dead_letters_bad_ones(
    sensors: dict[str, Sensor],
) -> None:
    body = {
        "sensor": "P-101",
        "unit": "kPa",
        "readings": [
            {"time": T0, "value": 98.0665},
            {"time": "2026-11-23T10:01:00Z", "value": "high"},
            {"sensor": "F-201", "time": T0, "value": 20, "unit": "L/s"},
            {"sensor": "nope", "time": T0, "value": 1},
        ],
    }
    parsed = parse_message(
        json.dumps(body), source="waterops/city/batch", sensors=sensors, limits=LIMITS
    )
    assert [(r.sensor_id, round(r.value, 9)) for r in parsed.readings] == [
        ("P-101", 10.0),
        ("F-201", 0.02),
    ]
    assert [d.source for d in parsed.rejected] == ["waterops/city/batch#1", "waterops/city/batch#3"]
    assert "must be a number" in parsed.rejected[0].reason
    assert json.loads(parsed.rejected[0].payload) == body["readings"][1]  # type: ignore[index]
    assert "unknown sensor 'nope'" in parsed.rejected[1].reason


def test_sensor_taken_from_the_topic(sensors: dict[str, Sensor]) -> None:
    [r] = parse({"time": T0, "value": 2.5}, sensors, topic="waterops/city/tank-1/L-301")
    assert (r.sensor_id, r.value) == ("L-301", 2.5)
    later_ms = int(datetime(2026, 11, 23, 10, 1, tzinfo=UTC).timestamp() * 1000)
    batch = parse(
        {"readings": [{"time": T0, "value": 1}, {"time": later_ms, "value": 2}]},
        sensors,
        topic="waterops/city/tank-1/L-301",
    )
    assert [(r.sensor_id, r.time.minute) for r in batch] == [("L-301", 0), ("L-301", 1)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        ([1, 2], "must be a JSON object"),
        ({"readings": {"a": 1}}, "'readings' must be a list"),
        ({"readings": [], "extra": 1}, "unknown batch field"),
        ({"sensor": 12, "time": T0, "value": 1}, "sensor must be a string"),
        ({"time": T0, "value": 1}, "missing field 'sensor'"),
        ({"sensor": "P-101", "value": 1}, "missing field 'time'"),
        ({"sensor": "P-101", "time": T0}, "missing field 'value'"),
        ({"sensor": "P-101", "time": T0, "value": 1, "colour": "red"}, "unknown field(s) colour"),
        ({"sensor": "P-101", "time": T0, "value": "3.2"}, "must be a number, not str"),
        ({"sensor": "P-101", "time": T0, "value": None}, "must be a number, not NoneType"),
        (b'{"sensor": "P-101", "time": "2026-11-23T10:00:00Z", "value": NaN}', "not a finite"),
        (b'{"sensor": "P-101", "time": 1795428000000, "value": -Infinity}', "not a finite"),
        (b'{"sensor": "P-101", "time": "2026-11-23T10:00:00Z", "value": 1e999}', "not a finite"),
        ({"sensor": "P-101", "time": T0, "value": 1e308, "unit": "MPa"}, "out of range"),
        ({"sensor": "P-101", "time": "2026-11-23T10:00:00", "value": 1}, "no UTC offset"),
        ({"sensor": "P-101", "time": "yesterday", "value": 1}, "not ISO 8601"),
        ({"sensor": "P-101", "time": [2026], "value": 1}, "must be an ISO 8601 string or epoch"),
        ({"sensor": "P-101", "time": True, "value": 1}, "must be an ISO 8601 string or epoch"),
        ({"sensor": "P-101", "time": 10**30, "value": 1}, "out of range"),
        ({"sensor": "P-101", "time": "2026-11-25T10:00:00Z", "value": 1}, "in the future"),
        ({"sensor": "P-101", "time": "2006-11-23T10:00:00Z", "value": 1}, "days old"),
        ({"sensor": "P-101", "time": T0, "value": 1, "unit": "furlong"}, "unknown unit 'furlong'"),
        ({"sensor": "P-101", "time": T0, "value": 1, "unit": 5}, "unit must be a string"),
        (
            {"sensor": "F-201", "time": T0, "value": 1, "unit": "bar"},
            "measures pressure; sensor F-201 measures flow",
        ),
        ({"sensor": "X-999", "time": T0, "value": 1}, "unknown sensor 'X-999'"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason(
    sensors: dict[str, Sensor], body: object, expected: str
) -> None:
    assert expected in reason(body, sensors)


def test_topic_and_payload_must_agree(sensors: dict[str, Sensor]) -> None:
    assert "came on the topic of 'L-301'" in reason(
        {"sensor": "P-101", "time": T0, "value": 1}, sensors, topic="waterops/city/tank-1/L-301"
    )
    assert "belongs to system 'township'" in reason(
        {"time": T0, "value": 1}, sensors, topic="waterops/city/intake-1/T-601"
    )
    assert 'needs {"readings"' in reason(
        {"sensor": "P-101", "time": T0, "value": 1}, sensors, topic="waterops/city/batch"
    )


def test_too_many_items_reject_the_whole_message(sensors: dict[str, Sensor]) -> None:
    small = PayloadLimits.at(NOW, max_items=2)
    body = json.dumps({"readings": [{"sensor": "P-101", "time": T0, "value": 1}] * 3})
    with pytest.raises(PayloadError, match="at most 2 per message"):
        parse_message(body, source="t", sensors=sensors, limits=small)


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("waterops/city/dma-7/P-101", Topic("city", "dma-7", "P-101")),
        ("waterops/city/batch", Topic("city")),
    ],
)
def test_topics(topic: str, expected: Topic) -> None:
    assert parse_topic(topic) == expected


@pytest.mark.parametrize(
    "topic",
    ["waterops/city", "other/city/a/b", "waterops/city/a/b/c", "waterops//a/b", "waterops/c/x"],
)
def test_bad_topics(topic: str) -> None:
    with pytest.raises(PayloadError, match="topic must be"):
        parse_topic(topic)


def test_topic_writers_match_the_reader(sensors: dict[str, Sensor]) -> None:
    p = sensors["P-101"]
    assert parse_topic(sensor_topic(p)) == Topic("city", "dma-7", "P-101")
    assert parse_topic(batch_topic("city")).is_batch


def test_parse_time_rejects_nan_ms() -> None:
    with pytest.raises(PayloadError, match="out of range"):
        parse_time(float("nan"), "t")


def test_writer_round_trip_with_a_unit(sensors: dict[str, Sensor]) -> None:
    reading = Reading("P-101", NOW - timedelta(minutes=5), 31.5)
    item = reading_to_json(reading, unit="bar")
    assert item["unit"] == "bar"
    [back] = parse(item, sensors)
    assert back.value == pytest.approx(31.5)
    [back_si] = parse_message(
        format_batch([reading]), source="t", sensors=sensors, limits=LIMITS
    ).readings
    assert back_si == reading
