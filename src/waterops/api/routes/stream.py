"""``/stream``: live updates as server-sent events (staff with operations:read).

``EventSource`` cannot set headers, so the token may come as ``?token=`` as well as in the
``Authorization: Bearer`` header. Events (``event:`` name, ``data:`` one JSON document):

``hello``     once, at the start: the user and the event names
``reading``   latest values since the last one, at most every :data:`READING_EVERY_S`:
              ``{"sensor_ids": [...], "times": [...], "values": [...]}`` (SI, aligned arrays)
``alarm``     an alarm raised, updated, reopened or changed by an operator:
              ``{"event": ..., "action": ..., "actor": ..., "alarm": <AlarmPublic>}``
``incident``  an alarm incident opened or updated: ``{"event": ..., "incident": ...}``
``twin``      the twin has a new state: ``{"time", "time_s", "hydraulics_converged",
              "unconverged_updates", "engine_warning_kinds", "multiplier_min",
              "multiplier_max", "largest_abs_z"}`` (fetch ``/twin/nodes`` to recolour;
              ``/twin/state`` has EPANET's warnings in full)
``kpi``       the key figures (as ``GET /kpis``), every :data:`KPI_EVERY_S`

Everything comes from the process's event bus, so readings of every ingest path in this
process (the demo simulator, the MQTT ingest, ``POST /telemetry/readings``) are streamed.
A comment line every :data:`HEARTBEAT_S` keeps proxies from closing an idle stream.

The route is left out of the OpenAPI document (an endless body is not a response a schema
client can wait for); docs/api.md describes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from waterops.api.deps import ServicesDep
from waterops.api.operations import LiveDep, OpsDep, get_bus, stream_user
from waterops.api.routes.alarms import alarm_public, incident_public
from waterops.api.routes.kpis import kpis_now
from waterops.model.accounts import User
from waterops.service.events import (
    AlarmEvent,
    AlarmRaised,
    AlarmStateChanged,
    Event,
    IncidentEvent,
    IncidentOpened,
)
from waterops.service.live import ReadingsIngested, TwinUpdated

log = logging.getLogger(__name__)

router = APIRouter(tags=["live stream"])

READING_EVERY_S = 0.25
"""Shortest time between two ``reading`` events of one stream [s] (at most 4 per second)."""
KPI_EVERY_S = 10.0
"""Time between two ``kpi`` events [s]."""
HEARTBEAT_S = 15.0
"""Longest silence before a comment line [s]."""
MAX_QUEUED = 1000
"""Alarm, incident and twin events kept for a slow client; older ones are dropped."""


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(jsonable_encoder(data), separators=(',', ':'))}\n\n"


class _Subscription:
    """What one stream collects from the bus (bus handlers run in the publishers' threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.wake = asyncio.Event()
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._lock = threading.Lock()
        self._readings: dict[str, tuple[datetime, float]] = {}

    def _offer(self, item: tuple[str, Any]) -> None:  # in the event loop
        if self.queue.qsize() >= MAX_QUEUED:
            self.queue.get_nowait()
        self.queue.put_nowait(item)
        self.wake.set()

    def offer(self, name: str, data: Any) -> None:
        """Queue an event (from any thread)."""
        self.loop.call_soon_threadsafe(self._offer, (name, data))

    def on_readings(self, event: ReadingsIngested) -> None:
        with self._lock:
            was_empty = not self._readings
            for sensor, at, value in zip(event.sensor_ids, event.times, event.values,
                                         strict=True):
                seen = self._readings.get(sensor)
                if seen is None or seen[0] <= at:
                    self._readings[sensor] = (at, value)
        if was_empty:
            self.loop.call_soon_threadsafe(self.wake.set)

    def take_readings(self) -> dict[str, tuple[datetime, float]]:
        with self._lock:
            taken, self._readings = self._readings, {}
        return taken

    def on_alarm(self, event: AlarmEvent) -> None:
        data: dict[str, Any] = {"event": _event_name(event), "alarm": alarm_public(event.alarm)}
        if isinstance(event, AlarmStateChanged):
            data |= {"action": event.action.value, "actor": event.actor,
                     "state_before": event.before.value}
        self.offer("alarm", data)

    def on_incident(self, event: IncidentEvent) -> None:
        name = "opened" if isinstance(event, IncidentOpened) else "updated"
        self.offer("incident", {"event": name, "incident": incident_public(event.incident)})

    def on_twin(self, event: TwinUpdated) -> None:
        mult = event.state.dma.get("multiplier", None)
        z = (event.state.residuals["z"].abs().dropna() if "z" in event.state.residuals
             else None)
        self.offer("twin", {
            "time": event.time, "time_s": event.state.time_s,
            "hydraulics_converged": event.state.hydraulics_converged,
            "unconverged_updates": event.state.unconverged_updates,
            "engine_warning_kinds": list(event.state.warning_kinds),
            "multiplier_min": None if mult is None or mult.empty else float(mult.min()),
            "multiplier_max": None if mult is None or mult.empty else float(mult.max()),
            "largest_abs_z": None if z is None or z.empty else float(z.max()),
        })


def _event_name(event: AlarmEvent) -> str:
    if isinstance(event, AlarmRaised):
        return "reopened" if event.reopened else "raised"
    if isinstance(event, AlarmStateChanged):
        return "state_changed"
    return "updated"


def _subscribe(bus: Any, sub: _Subscription) -> list[Callable[[], None]]:
    handlers: list[tuple[type[Event], Callable[[Any], None]]] = [
        (ReadingsIngested, sub.on_readings), (AlarmEvent, sub.on_alarm),
        (IncidentEvent, sub.on_incident), (TwinUpdated, sub.on_twin)]
    return [bus.subscribe(kind, handler) for kind, handler in handlers]


@router.get("/stream", response_class=StreamingResponse, include_in_schema=False)
async def stream(request: Request, user: Annotated[User, Depends(stream_user)], ops: OpsDep,
                 live: LiveDep, services: ServicesDep) -> StreamingResponse:
    """Server-sent events: ``reading``, ``alarm``, ``incident``, ``twin``, ``kpi``."""
    loop = asyncio.get_running_loop()
    sub = _Subscription(loop)
    unsubscribe = _subscribe(get_bus(request), sub)

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            yield sse("hello", {"user": user.username, "events": [
                "reading", "alarm", "incident", "twin", "kpi"]})
            last_flush = last_kpi = last_sent = -1e9
            while True:
                now = loop.time()
                wait_s = max(0.0, min(last_kpi + KPI_EVERY_S, last_sent + HEARTBEAT_S) - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.wake.wait(), timeout=wait_s)
                sub.wake.clear()
                while not sub.queue.empty():
                    name, data = sub.queue.get_nowait()
                    yield sse(name, data)
                    last_sent = loop.time()
                pause = last_flush + READING_EVERY_S - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                readings = sub.take_readings()
                if readings:
                    ids = list(readings)
                    yield sse("reading", {"sensor_ids": ids,
                                          "times": [readings[s][0] for s in ids],
                                          "values": [readings[s][1] for s in ids]})
                    last_flush = last_sent = loop.time()
                if loop.time() - last_kpi >= KPI_EVERY_S:
                    last_kpi = loop.time()
                    try:
                        figures = await run_in_threadpool(kpis_now, ops, live, services)
                        yield sse("kpi", figures)
                        last_sent = loop.time()
                    except Exception:  # a database hiccup must not end the stream
                        log.exception("KPIs for the live stream failed")
                if loop.time() - last_sent >= HEARTBEAT_S:
                    yield ": keep-alive\n\n"
                    last_sent = loop.time()
        finally:
            for stop in unsubscribe:
                stop()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
