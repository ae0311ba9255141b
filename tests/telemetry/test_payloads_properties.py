"""Property-based tests of the payload parser: anything in, readings or PayloadError out."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.errors import PayloadError
from waterops.model.telemetry import Quantity, Reading, Sensor
from waterops.telemetry.payloads import (
    PayloadLimits,
    Topic,
    batch_topic,
    format_batch,
    parse_message,
    parse_topic,
    reading_to_json,
)

# deadline=None throughout: no wall-clock limits in tests (the machine is shared)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMITS = PayloadLimits.at(NOW)
SENSORS = {
    s.id: s
    for s in (
        Sensor("P-101", "city", Quantity.PRESSURE, site_id="dma-7"),
        Sensor("F-201", "city", Quantity.FLOW, site_id="dma-7"),
        Sensor("PS-501", "city", Quantity.PUMP_STATUS, site_id="pr-9"),
        Sensor("T-601", "township", Quantity.TEMPERATURE, site_id="x"),
    )
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
"""Any JSON document (NaN and infinities included, as Python's json writes them)."""

reading_like = st.fixed_dictionaries(
    {},
    optional={
        "sensor": st.sampled_from([*SENSORS, "unknown"]) | json_values,
        "time": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
            st.datetimes().map(lambda t: t.isoformat()),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.floats(),
            json_values,
        ),
        "value": st.floats() | st.integers() | st.booleans() | json_values,
        "unit": st.sampled_from(["bar", "kPa", "L/s", "m3/h", "mg/L", "furlong", "bool"])
        | json_values,
    },
)
"""Objects shaped like readings, with fields of any type (the interesting failures)."""

topics = st.none() | st.sampled_from(
    [Topic("city"), Topic("city", "dma-7", "P-101"), Topic("township", "x", "T-601")]
)


def _assert_valid(reading: Reading) -> None:
    assert reading.sensor_id in SENSORS
    assert reading.time.utcoffset() == timedelta(0)
    assert math.isfinite(reading.value)
    assert reading.time - NOW <= timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200), topic=topics)
def test_any_bytes_give_readings_or_a_payload_error(body: bytes, topic: Topic | None) -> None:
    try:
        parsed = parse_message(body, source="t", sensors=SENSORS, limits=LIMITS, topic=topic)
    except PayloadError as exc:
        assert exc.reason
        return
    for reading in parsed.readings:
        _assert_valid(reading)


@settings(max_examples=300, deadline=None)
@given(
    doc=json_values
    | reading_like
    | st.fixed_dictionaries(
        {"readings": st.lists(reading_like | json_values, max_size=5)},
        optional={"sensor": json_values, "unit": json_values},
    ),
    topic=topics,
)
def test_any_json_gives_readings_or_a_payload_error(doc: object, topic: Topic | None) -> None:
    body = json.dumps(doc).encode()
    try:
        parsed = parse_message(body, source="t", sensors=SENSORS, limits=LIMITS, topic=topic)
    except PayloadError as exc:
        assert exc.reason
        return
    for reading in parsed.readings:
        _assert_valid(reading)
    for dead in parsed.rejected:
        assert dead.reason and dead.source.startswith("t#")


valid_readings = st.builds(
    Reading,
    sensor_id=st.sampled_from(sorted(s for s in SENSORS if s != "PS-501")),
    time=st.datetimes(
        min_value=datetime(2017, 1, 1),
        max_value=datetime(2026, 11, 24, 11, 59),
        timezones=st.just(UTC),
    ),
    value=st.floats(allow_nan=False, allow_infinity=False, width=64),
)


@settings(deadline=None)
@given(readings=st.lists(valid_readings, max_size=20))
def test_si_batches_round_trip_exactly(readings: list[Reading]) -> None:
    parsed = parse_message(format_batch(readings), source="t", sensors=SENSORS, limits=LIMITS)
    assert parsed.rejected == []
    assert parsed.readings == readings


@settings(deadline=None)
@given(
    reading=valid_readings.filter(lambda r: r.sensor_id == "P-101"),
    unit=st.sampled_from(["bar", "kPa", "MPa", "psi", "mH2O"]),
)
def test_readings_written_in_another_unit_come_back_in_si(reading: Reading, unit: str) -> None:
    body = json.dumps(reading_to_json(reading, unit=unit))
    try:
        [back] = parse_message(body, source="t", sensors=SENSORS, limits=LIMITS).readings
    except PayloadError as exc:  # a value near the float limit may overflow in another unit
        assert "finite" in exc.reason or "out of range" in exc.reason
        return
    assert back.time == reading.time
    assert math.isclose(back.value, reading.value, rel_tol=1e-12, abs_tol=1e-300)


@settings(deadline=None)
@given(topic=st.text(alphabet=st.sampled_from("waterops/+#ab-1"), max_size=30) | st.text())
def test_any_topic_gives_a_topic_or_a_payload_error(topic: str) -> None:
    try:
        parsed = parse_topic(topic)
    except PayloadError as exc:
        assert "topic must be" in exc.reason
        return
    rebuilt = (batch_topic(parsed.system_id) if parsed.is_batch else
               f"waterops/{parsed.system_id}/{parsed.site_id}/{parsed.sensor_id}")
    assert rebuilt == topic
