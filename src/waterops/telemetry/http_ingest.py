"""Ingest of telemetry batches whatever carried them: the service function of the HTTP route.

:func:`ingest_batch` takes one request body (the formats of :mod:`waterops.telemetry.payloads`),
stores its good readings, keeps its bad ones in the dead-letter table, and says what happened
(:class:`IngestReport`). The MQTT ingest uses :func:`store_parsed` and :class:`SensorRegistry`
from here too, so both paths validate and store alike.

A body that is bad as a whole (not JSON, not an object …) is one dead letter; in a batch, only
the bad items are. Either way the call succeeds and reports the rejections: the web route can
answer 200 with the report, or 422 when nothing at all was stored, as it prefers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from waterops.errors import PayloadError
from waterops.model.telemetry import QualityFlag, Reading, Sensor
from waterops.store import tables
from waterops.telemetry.payloads import (
    DeadLetter,
    ParsedPayload,
    PayloadLimits,
    Topic,
    parse_message,
)
from waterops.telemetry.quality import (
    US_PER_S,
    ContextNeed,
    context_need,
    context_slice,
    quality_flags,
    rules_for,
)

MAX_DEAD_LETTER_CHARS = 100_000
"""Longest payload text kept in a dead letter (a runaway device must not fill the database)."""


class ReadingStore(Protocol):
    """What ingest needs from the telemetry store (:class:`waterops.store.TelemetryStore`)."""

    engine: sa.Engine

    def sensors(self) -> Iterable[Sensor]:
        """Every registered sensor."""
        ...

    def write_readings(self, readings: Sequence[Reading]) -> int:
        """Store readings in one transaction, each (sensor, time) once; returns new rows."""
        ...

    def add_dead_letters(self, letters: Sequence[tuple[str, str, str]]) -> object:
        """Keep rejected payloads ``(source, payload, reason)`` in one transaction."""
        ...


class SensorRegistry:
    """The sensors payloads are checked against, reloaded from the store now and then.

    A sensor registered while an ingest runs is known at the latest ``max_age_s`` later, or
    at once when a payload names it (see :meth:`refresh_for_unknown`).

    Parameters
    ----------
    store : where the sensors are registered
    max_age_s : reload the registry when it is older than this [s]
    min_reload_interval_s : never reload more often than this, even for unknown sensors [s]
    """

    def __init__(
        self, store: ReadingStore, *, max_age_s: float = 60.0, min_reload_interval_s: float = 2.0
    ) -> None:
        self._store = store
        self._max_age_s = max_age_s
        self._min_reload_interval_s = min_reload_interval_s
        self._sensors: dict[str, Sensor] = {}
        self._loaded_at = -float("inf")

    def current(self) -> Mapping[str, Sensor]:
        """The sensors by id, reloaded first if the registry is stale."""
        if time.monotonic() - self._loaded_at > self._max_age_s:
            self.reload()
        return self._sensors

    def reload(self) -> None:
        """Read the sensors from the store now."""
        self._sensors = {s.id: s for s in self._store.sensors()}
        self._loaded_at = time.monotonic()

    def expire(self) -> None:
        """Have the next :meth:`current` read the sensors again."""
        self._loaded_at = -float("inf")

    def refresh_for_unknown(self) -> bool:
        """Reload because a payload named an unknown sensor; False if reloaded too recently."""
        if time.monotonic() - self._loaded_at < self._min_reload_interval_s:
            return False
        self.reload()
        return True


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_Series = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


class QualityFlagger:
    """Quality flags of streamed readings, against the stored tail of each sensor's series.

    The flags are those of :mod:`waterops.telemetry.quality` (causal: a reading is judged
    by the readings before it). A long-running ingest keeps the tail of every series it
    wrote, so a stream in time order costs no query; a batch that reaches back before the
    newest reading it knows (late or out-of-order data) reads its context from the store.
    Readings written meanwhile by another process (a CSV backfill) into the part of a series
    held here are not seen until that series arrives out of order.
    """

    def __init__(self, store: ReadingStore) -> None:
        self._store = store
        self._tails: dict[str, _Series] = {}
        self._pending: dict[str, _Series] = {}

    def flag(self, readings: Sequence[Reading], sensors: Mapping[str, Sensor]) -> list[Reading]:
        """The readings with their flags; call :meth:`commit` once they are stored."""
        by_sensor: dict[str, list[int]] = {}
        for i, r in enumerate(readings):
            by_sensor.setdefault(r.sensor_id, []).append(i)
        flags = np.zeros(len(readings), dtype=np.int64)
        self._pending = {}
        for sensor_id, rows in by_sensor.items():
            t = np.fromiter(((readings[i].time - _EPOCH) // _ONE_US for i in rows), np.int64,
                            count=len(rows))
            v = np.fromiter((readings[i].value for i in rows), np.float64, count=len(rows))
            # the first of equal times counts, as in the store; repeats get its flags
            t_unique, first, back = np.unique(t, return_index=True, return_inverse=True)
            v_unique = v[first]
            rules = rules_for(sensors[sensor_id])
            need = context_need(rules)
            context = self._context(sensor_id, int(t_unique[0]), int(t_unique[-1]), need)
            series_flags = quality_flags(t_unique, v_unique, rules, context_times_us=context[0],
                                         context_values=context[1]).astype(np.int64)
            flags[rows] = series_flags[back]
            self._pending[sensor_id] = _tail(context, (t_unique, v_unique), need)
        return [
            r if f == 0 else Reading(r.sensor_id, r.time, r.value, QualityFlag(f))
            for r, f in zip(readings, flags.tolist(), strict=True)
        ]

    def commit(self) -> None:
        """The flagged readings are stored: keep their tails as context for the next batch."""
        self._tails.update(self._pending)
        self._pending = {}

    def _context(self, sensor_id: str, first_us: int, last_us: int, need: ContextNeed) -> _Series:
        tail = self._tails.get(sensor_id)
        if tail is not None and len(tail[0]) and first_us > tail[0][-1]:
            window = context_slice(tail[0], first_us, last_us, need)
            return tail[0][window], tail[1][window]
        return self._stored_context(sensor_id, first_us, last_us, need)

    def _stored_context(
        self, sensor_id: str, first_us: int, last_us: int, need: ContextNeed
    ) -> _Series:
        r, s = tables.readings, tables.sensors
        span_start_us = first_us - round(need.before_s * US_PER_S)
        key = sa.select(s.c.key).where(s.c.id == sensor_id).scalar_subquery()
        with self._store.engine.connect() as conn:
            span = conn.execute(
                sa.select(r.c.time_us, r.c.value)
                .where(r.c.sensor_key == key, r.c.time_us >= span_start_us,
                       r.c.time_us <= last_us)
                .order_by(r.c.time_us)
            ).all()
            before = conn.execute(
                sa.select(r.c.time_us, r.c.value)
                .where(r.c.sensor_key == key, r.c.time_us < span_start_us)
                .order_by(r.c.time_us.desc())
                .limit(need.readings)
            ).all()
        rows: list[Any] = [*reversed(before), *span]
        return (np.array([row[0] for row in rows], dtype=np.int64),
                np.array([row[1] for row in rows], dtype=np.float64))


def _tail(context: _Series, batch: _Series, need: ContextNeed) -> _Series:
    """The end of (context ∪ batch) that the next batch of the series may need."""
    t = np.concatenate([context[0], batch[0]])
    v = np.concatenate([context[1], batch[1]])
    order = np.argsort(t, kind="stable")  # context first on equal times: it is what is stored
    t, v = t[order], v[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = t[1:] != t[:-1]
    t, v = t[keep], v[keep]
    window = context_slice(t, int(t[-1]), int(t[-1]), need)
    return t[window].copy(), v[window].copy()


@dataclass(slots=True)
class IngestReport:
    """What became of one request (or one MQTT transaction).

    ``received`` readings = ``stored`` (new) + ``duplicates`` (already stored) + rejected items;
    a message rejected as a whole counts as one rejection.
    """

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        """Add another report's counts to this one."""
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


def clean_text(text: str, limit: int = MAX_DEAD_LETTER_CHARS) -> str:
    """Text safe for a database text column: no NUL characters, at most ``limit`` chars."""
    text = text.replace("\x00", "\\x00")
    if len(text) > limit:
        return f"{text[:limit]}… [{len(text) - limit} more characters not kept]"
    return text


def body_text(body: bytes | str | object) -> str:
    """A message body as text for the dead-letter table (bytes that are not UTF-8 escaped)."""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="backslashreplace")
    return body if isinstance(body, str) else repr(body)


def parse_or_dead_letter(
    body: bytes | str | object,
    *,
    source: str,
    sensors: Mapping[str, Sensor],
    limits: PayloadLimits,
    topic: Topic | None = None,
) -> ParsedPayload:
    """Parse one message; a message bad as a whole becomes one dead letter instead of an error."""
    try:
        return parse_message(body, source=source, sensors=sensors, limits=limits, topic=topic)
    except PayloadError as exc:
        return ParsedPayload(rejected=[DeadLetter(exc.source, body_text(body), exc.reason)])


def store_parsed(
    store: ReadingStore,
    parsed: Sequence[ParsedPayload],
    *,
    flagger: QualityFlagger | None = None,
    sensors: Mapping[str, Sensor] | None = None,
) -> IngestReport:
    """Store the readings of parsed messages with their quality flags, then their dead letters.

    Readings go in one transaction, dead letters in the next; the caller acknowledges the
    messages only after both returned. Raises whatever the store raises (nothing is lost: an
    unacknowledged message is delivered again, and readings are stored once).

    Parameters
    ----------
    flagger, sensors : flag the readings (``sensors``: the registry they were parsed with);
        without them they are stored unflagged
    """
    readings = [r for p in parsed for r in p.readings]
    rejected = [d for p in parsed for d in p.rejected]
    if flagger is not None and sensors is not None and readings:
        readings = flagger.flag(readings, sensors)
    stored = store.write_readings(readings) if readings else 0
    if flagger is not None:
        flagger.commit()
    if rejected:
        store.add_dead_letters(
            [(clean_text(d.source, 1000), clean_text(d.payload), clean_text(d.reason, 2000))
             for d in rejected]
        )
    return IngestReport(
        received=len(readings) + len(rejected),
        stored=stored,
        duplicates=len(readings) - stored,
        rejected=rejected,
    )


def ingest_batch(
    store: ReadingStore,
    body: bytes | str | dict[str, object],
    *,
    source: str,
    registry: SensorRegistry | None = None,
    limits: PayloadLimits | None = None,
    flagger: QualityFlagger | None = None,
) -> IngestReport:
    """Validate, flag and store one batch of readings (an HTTP request body).

    Parameters
    ----------
    store : the telemetry store
    body : the request body as bytes/text, or already decoded JSON (a dict)
    source : where it came from, kept with dead letters (e.g. ``"http POST 10.0.0.7"``)
    registry : sensor registry to check against (default: read from the store now)
    limits : time bounds (default: now, 1 day ahead, 10 years back)
    flagger : keeps series tails between calls (default: context read from the store)

    Returns
    -------
    IngestReport
        readings stored, duplicates skipped, and the rejections with their reasons
        (also kept in the dead-letter table).

    Raises
    ------
    waterops.errors.StoreError
        if the database cannot be written. The readings go in one transaction and the dead
        letters in the next, so the readings may be stored already; sending the body again is
        harmless (each reading is stored once), the client should do so.
    """
    registry = registry or SensorRegistry(store)
    limits = limits or PayloadLimits.at()
    sensors = registry.current()
    parsed = parse_or_dead_letter(body, source=source, sensors=sensors, limits=limits)
    if any(d.reason.startswith("unknown sensor") for d in parsed.rejected) and (
        registry.refresh_for_unknown()
    ):  # perhaps registered since the registry was read
        sensors = registry.current()
        parsed = parse_or_dead_letter(body, source=source, sensors=sensors, limits=limits)
    flagger = flagger or QualityFlagger(store)
    return store_parsed(store, [parsed], flagger=flagger, sensors=sensors)
