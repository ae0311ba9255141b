"""Telemetry payloads: parse and validate JSON readings, and write them (pure, no I/O).

The formats are documented for integrators in ``docs/telemetry.md``. In short:

one reading ::

    {"sensor": "P-101", "time": "2026-11-23T10:00:00Z", "value": 3.2, "unit": "bar"}

a batch ::

    {"readings": [{"sensor": "P-101", "time": 1795428000000, "value": 3.2, "unit": "bar"}, ...]}

A batch may give ``"sensor"`` and ``"unit"`` once at its top level as defaults for its items,
and on a per-sensor MQTT topic (``waterops/{system}/{site}/{sensor}``) the sensor may be left
out altogether: it is taken from the topic.

Decisions
---------
- ``time`` is an ISO 8601 string *with* a UTC offset (``Z``, ``+08:00``) or a number of
  milliseconds since 1970-01-01T00:00:00Z. A time without an offset is rejected: utilities keep
  local time (Asia/Shanghai), so guessing UTC would silently shift readings by hours.
- ``unit`` is optional; without it the value is taken as already in the sensor's SI unit
  (:data:`waterops.model.telemetry.SI_UNIT`). A unit must be known to :mod:`waterops.units`
  and fit the sensor's quantity (``bar`` for a flow meter is rejected).
- ``value`` must be a finite JSON number (``true``/``false`` are accepted for pump status only);
  strings such as ``"3.2"`` are rejected rather than guessed at.
- In a batch, one bad item rejects only that item: it becomes a :class:`DeadLetter` with its
  reason and the good items are kept, which is what operators expect. Faults of the message as a
  whole (not JSON, not an object, ``readings`` not a list, too many items) reject the whole
  message with :class:`waterops.errors.PayloadError`.
- Values outside a sensor's limits are *not* rejected here: they are stored and flagged
  (data-quality flags), the raw value is never changed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from waterops.errors import PayloadError, UnitError
from waterops.model.telemetry import Quantity, Reading, Sensor
from waterops.units import from_si, to_si, unit_quantity

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

TOPIC_ROOT: Final = "waterops"
"""First level of every telemetry topic."""
BATCH_TOPIC_LEVEL: Final = "batch"
"""Last level of a system's batch topic, ``waterops/{system}/batch``."""

# Which kinds of unit (as :func:`waterops.units.unit_quantity` names them) a sensor of each
# quantity may report in. Pressure may come as a head in m; a level may come from a
# hydrostatic probe as a pressure (1 m of water head is 1 m of level); a relative pump
# speed or a valve position may come as a percentage.
UNIT_KINDS: Final[dict[Quantity, frozenset[str]]] = {
    Quantity.PRESSURE: frozenset({"pressure", "length"}),
    Quantity.FLOW: frozenset({"flow"}),
    Quantity.LEVEL: frozenset({"length", "pressure"}),
    Quantity.CHLORINE: frozenset({"concentration"}),
    Quantity.TURBIDITY: frozenset({"turbidity"}),
    Quantity.PH: frozenset({"ph", "dimensionless"}),
    Quantity.CONDUCTIVITY: frozenset({"conductivity"}),
    Quantity.TEMPERATURE: frozenset({"temperature"}),
    Quantity.PUMP_STATUS: frozenset({"state", "dimensionless"}),
    Quantity.PUMP_SPEED: frozenset({"dimensionless", "fraction"}),
    Quantity.VALVE_POSITION: frozenset({"dimensionless", "fraction"}),
    Quantity.POWER: frozenset({"power"}),
}

_READING_KEYS: Final = frozenset({"sensor", "time", "value", "unit"})
_BATCH_KEYS: Final = frozenset({"readings", "sensor", "unit"})


@dataclass(frozen=True, slots=True)
class PayloadLimits:
    """What a payload may contain.

    Parameters
    ----------
    now : the present time (timezone-aware UTC) against which times are checked
    max_future_s : a reading more than this ahead of ``now`` is rejected [s] (clock faults)
    max_age_s : a reading more than this before ``now`` is rejected [s] (default 10 years)
    max_items : most readings one message may carry
    """

    now: datetime
    max_future_s: float = 86_400.0
    max_age_s: float = 10 * 365.25 * 86_400.0
    max_items: int = 100_000

    @classmethod
    def at(cls, now: datetime | None = None, **kwargs: Any) -> PayloadLimits:
        """Limits checked against ``now`` (default: the current time)."""
        return cls(now=now or datetime.now(UTC), **kwargs)

    def bounds(self) -> tuple[datetime, datetime]:
        """(earliest, latest) time a reading may have."""
        try:
            earliest = self.now - timedelta(seconds=self.max_age_s)
        except OverflowError:  # a limit beyond the calendar: no limit
            earliest = datetime.min.replace(tzinfo=UTC)
        try:
            latest = self.now + timedelta(seconds=self.max_future_s)
        except OverflowError:
            latest = datetime.max.replace(tzinfo=UTC)
        return earliest, latest


@dataclass(frozen=True, slots=True)
class Topic:
    """The parts of a telemetry topic: ``waterops/{system}/{site}/{sensor}`` or ``.../batch``.

    ``site`` and ``sensor`` are ``None`` on a system's batch topic.
    """

    system_id: str
    site_id: str | None = None
    sensor_id: str | None = None

    @property
    def is_batch(self) -> bool:
        """True for ``waterops/{system}/batch``."""
        return self.sensor_id is None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message or batch item, kept with its reason (dead-letter table).

    ``payload`` is the text as received (for an item of a batch: that item, as JSON).
    """

    source: str
    payload: str
    reason: str

    def as_tuple(self) -> tuple[str, str, str]:
        """``(source, payload, reason)``, the row the store's dead-letter table takes."""
        return (self.source, self.payload, self.reason)


@dataclass(slots=True)
class ParsedPayload:
    """The outcome of one message: readings in SI, and the items that were rejected."""

    readings: list[Reading] = field(default_factory=list)
    rejected: list[DeadLetter] = field(default_factory=list)


def parse_topic(topic: str) -> Topic:
    """Read a telemetry topic.

    Raises
    ------
    PayloadError
        if the topic does not follow ``waterops/{system}/{site}/{sensor}`` or
        ``waterops/{system}/batch``.
    """
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != TOPIC_ROOT or any(not p for p in parts):
        raise PayloadError(
            topic,
            "topic must be waterops/{system}/{site}/{sensor} or waterops/{system}/batch",
        )
    if len(parts) == 3 and parts[2] == BATCH_TOPIC_LEVEL:
        return Topic(system_id=parts[1])
    if len(parts) == 4:
        return Topic(system_id=parts[1], site_id=parts[2], sensor_id=parts[3])
    raise PayloadError(
        topic, "topic must be waterops/{system}/{site}/{sensor} or waterops/{system}/batch"
    )


def sensor_topic(sensor: Sensor) -> str:
    """The topic a sensor publishes its readings on (site ``-`` when it has none)."""
    return f"{TOPIC_ROOT}/{sensor.system_id}/{sensor.site_id or '-'}/{sensor.id}"


def batch_topic(system_id: str) -> str:
    """The topic of a system's batches."""
    return f"{TOPIC_ROOT}/{system_id}/{BATCH_TOPIC_LEVEL}"


def parse_time(raw: object, source: str) -> datetime:
    """A reading's time as timezone-aware UTC.

    ``raw`` is an ISO 8601 string with a UTC offset, or epoch milliseconds (a JSON number).
    """
    if isinstance(raw, bool):
        raise PayloadError(source, f"time must be an ISO 8601 string or epoch ms, not {raw!r}")
    if isinstance(raw, int | float):
        try:
            return EPOCH + timedelta(milliseconds=raw)
        except (OverflowError, ValueError):  # huge, infinite or NaN
            raise PayloadError(source, f"time {raw!r} epoch ms is out of range") from None
    if not isinstance(raw, str):
        raise PayloadError(
            source, f"time must be an ISO 8601 string or epoch ms, not {type(raw).__name__}"
        )
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(source, f"time {raw!r} is not ISO 8601") from None
    if parsed.tzinfo is UTC:  # "Z" or "+00:00", the common case
        return parsed
    if parsed.tzinfo is None:
        raise PayloadError(
            source, f"time {raw!r} has no UTC offset (write e.g. 2026-11-23T10:00:00Z or +08:00)"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadError(source, f"time {raw!r} is out of range") from None


def _check_time(
    time: datetime, limits: PayloadLimits, bounds: tuple[datetime, datetime], source: str
) -> None:
    if bounds[0] <= time <= bounds[1]:
        return
    ahead_s = (time - limits.now).total_seconds()
    if ahead_s > limits.max_future_s:
        raise PayloadError(
            source,
            f"time {time.isoformat()} is {ahead_s / 3600:.1f} h in the future "
            f"(limit {limits.max_future_s / 3600:g} h)",
        )
    if -ahead_s > limits.max_age_s:
        raise PayloadError(
            source,
            f"time {time.isoformat()} is more than {limits.max_age_s / 86_400:g} days old",
        )


def _value_si(raw: object, unit: object, sensor: Sensor, source: str) -> float:
    if isinstance(raw, bool):
        if sensor.quantity is not Quantity.PUMP_STATUS:
            raise PayloadError(source, f"value {raw!r} is a boolean; {sensor.id} needs a number")
        return 1.0 if raw else 0.0
    if not isinstance(raw, int | float):
        raise PayloadError(source, f"value must be a number, not {type(raw).__name__}")
    try:
        value = float(raw)
    except OverflowError:
        raise PayloadError(source, "value is too large") from None
    if not math.isfinite(value):
        raise PayloadError(source, f"value {raw!r} is not a finite number")
    if unit is None:
        return value  # already in the sensor's SI unit
    if not isinstance(unit, str):
        raise PayloadError(source, f"unit must be a string, not {type(unit).__name__}")
    try:
        kind = unit_quantity(unit)
    except UnitError as exc:
        raise PayloadError(source, str(exc)) from None
    if kind not in UNIT_KINDS[sensor.quantity]:
        raise PayloadError(
            source,
            f"unit {unit!r} measures {kind}; sensor {sensor.id} measures {sensor.quantity.value}",
        )
    value = to_si(value, unit)
    if not math.isfinite(value):
        raise PayloadError(source, f"value {raw!r} {unit} is out of range")
    return value


def parse_reading(
    item: object,
    *,
    source: str,
    sensors: Mapping[str, Sensor],
    limits: PayloadLimits,
    topic: Topic | None = None,
    default_sensor: str | None = None,
    default_unit: str | None = None,
    _times: dict[object, datetime] | None = None,
    _bounds: tuple[datetime, datetime] | None = None,
) -> Reading:
    """Validate one reading object (already decoded from JSON) and convert it to SI.

    Parameters
    ----------
    item : the decoded JSON object
    source : where it came from, for the error (topic, request, ``topic#3`` for a batch item)
    sensors : the sensor registry, by sensor id
    limits : time bounds
    topic : the MQTT topic it came on, if any (its sensor and system must agree)
    default_sensor, default_unit : taken when the item has no ``sensor`` / ``unit``

    Raises
    ------
    PayloadError
        naming what is wrong.
    """
    if not isinstance(item, dict):
        raise PayloadError(source, f"a reading must be a JSON object, not {type(item).__name__}")
    if not item.keys() <= _READING_KEYS:
        extra = set(item) - _READING_KEYS
        raise PayloadError(source, f"unknown field(s) {', '.join(sorted(map(str, extra)))}")
    sensor_id = item.get("sensor", default_sensor)
    if sensor_id is None:
        raise PayloadError(source, "missing field 'sensor'")
    if not isinstance(sensor_id, str):
        raise PayloadError(source, f"sensor must be a string, not {type(sensor_id).__name__}")
    if topic is not None and topic.sensor_id is not None and sensor_id != topic.sensor_id:
        raise PayloadError(
            source,
            f"reading names sensor {sensor_id!r} but came on the topic of {topic.sensor_id!r}",
        )
    sensor = sensors.get(sensor_id)
    if sensor is None:
        raise PayloadError(source, f"unknown sensor {sensor_id!r}")
    if topic is not None and sensor.system_id != topic.system_id:
        raise PayloadError(
            source,
            f"sensor {sensor_id!r} belongs to system {sensor.system_id!r}, "
            f"not {topic.system_id!r} of the topic",
        )
    for name in ("time", "value"):
        if name not in item:
            raise PayloadError(source, f"missing field {name!r}")
    raw_time = item["time"]
    # A batch's readings often share their time (a gateway's snapshot of all its sensors):
    # each distinct time is parsed and checked once per message.
    time = _times.get(raw_time) if _times is not None and isinstance(raw_time, str) else None
    if time is None:
        time = parse_time(raw_time, source)
        _check_time(time, limits, _bounds or limits.bounds(), source)
        if _times is not None and isinstance(raw_time, str):
            _times[raw_time] = time
    value = _value_si(item["value"], item.get("unit", default_unit), sensor, source)
    return Reading(sensor_id=sensor_id, time=time, value=value)


def decode_json(body: bytes | str, source: str) -> object:
    """Decode a JSON message body.

    Raises
    ------
    PayloadError
        if the body is not UTF-8 JSON.
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise PayloadError(source, f"not JSON ({type(exc).__name__}: {exc})") from None


def parse_message(
    body: bytes | str | object,
    *,
    source: str,
    sensors: Mapping[str, Sensor],
    limits: PayloadLimits,
    topic: Topic | None = None,
) -> ParsedPayload:
    """Parse one message (an MQTT payload or an HTTP body): a reading or a batch.

    ``body`` is raw bytes/text, or an object already decoded from JSON (a web framework's
    request body).

    Returns
    -------
    ParsedPayload
        the good readings in SI, and one :class:`DeadLetter` per rejected batch item.

    Raises
    ------
    PayloadError
        when the message as a whole is bad (not JSON, not an object, bad batch).
    """
    doc = decode_json(body, source) if isinstance(body, bytes | str) else body
    if not isinstance(doc, dict):
        raise PayloadError(source, f"a message must be a JSON object, not {type(doc).__name__}")
    if topic is not None and topic.is_batch and "readings" not in doc:
        raise PayloadError(source, 'a batch topic needs {"readings": [...]}')
    default_sensor = topic.sensor_id if topic is not None else None
    if "readings" not in doc:
        reading = parse_reading(
            doc,
            source=source,
            sensors=sensors,
            limits=limits,
            topic=topic,
            default_sensor=default_sensor,
        )
        return ParsedPayload(readings=[reading])
    return _parse_batch(doc, source, sensors, limits, topic, default_sensor)


def _parse_batch(
    doc: dict[str, Any],
    source: str,
    sensors: Mapping[str, Sensor],
    limits: PayloadLimits,
    topic: Topic | None,
    default_sensor: str | None,
) -> ParsedPayload:
    extra = set(doc) - _BATCH_KEYS
    if extra:
        raise PayloadError(source, f"unknown batch field(s) {', '.join(sorted(map(str, extra)))}")
    items = doc["readings"]
    if not isinstance(items, list):
        raise PayloadError(source, f"'readings' must be a list, not {type(items).__name__}")
    if len(items) > limits.max_items:
        raise PayloadError(
            source, f"batch has {len(items)} readings; at most {limits.max_items} per message"
        )
    batch_sensor = doc.get("sensor", default_sensor)
    batch_unit = doc.get("unit")
    if batch_sensor is not None and not isinstance(batch_sensor, str):
        raise PayloadError(source, f"sensor must be a string, not {type(batch_sensor).__name__}")
    if batch_unit is not None and not isinstance(batch_unit, str):
        raise PayloadError(source, f"unit must be a string, not {type(batch_unit).__name__}")
    out = ParsedPayload()
    times: dict[object, datetime] = {}
    bounds = limits.bounds()
    for index, item in enumerate(items):
        try:
            out.readings.append(
                parse_reading(
                    item,
                    source=source,
                    sensors=sensors,
                    limits=limits,
                    topic=topic,
                    default_sensor=batch_sensor,
                    default_unit=batch_unit,
                    _times=times,
                    _bounds=bounds,
                )
            )
        except PayloadError as exc:
            # an item's own source is only formatted for the rare bad item
            item_source = f"{source}#{index}"
            out.rejected.append(DeadLetter(item_source, _item_text(item), exc.reason))
    return out


def _item_text(item: object) -> str:
    try:
        return json.dumps(item, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return repr(item)


def reading_to_json(reading: Reading, *, unit: str | None = None) -> dict[str, Any]:
    """One reading as a payload object; the value stays SI unless ``unit`` is given.

    ``unit`` is written to the object only when given, so parsing it back needs no unit table.
    """
    item: dict[str, Any] = {
        "sensor": reading.sensor_id,
        "time": reading.time.astimezone(UTC).isoformat(),
        "value": reading.value,
    }
    if unit is not None:
        item["value"] = from_si(reading.value, unit)
        item["unit"] = unit
    return item


def format_batch(readings: Iterable[Reading]) -> bytes:
    """A batch message ``{"readings": [...]}`` in SI, as UTF-8 JSON bytes."""
    return json.dumps({"readings": [reading_to_json(r) for r in readings]}).encode()
