"""``/telemetry``: sensors, latest values, rolled-up series (with the twin's values), and the
HTTP batch ingest of readings.

``POST /telemetry/readings`` takes the payloads of docs/telemetry.md (one reading or a batch)
all or nothing: if any item is bad, nothing is stored and the 422 names the item and why.
Stored readings are announced on the event bus (the live stream shows them).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime

from waterops.api.deps import PageParams, requires
from waterops.api.operations import LiveDep, OpsDep, OpsReader
from waterops.api.schemas.common import Page, ShortText
from waterops.api.schemas.telemetry import (
    IngestPublic,
    LatestPublic,
    SensorPublic,
    SeriesPointPublic,
    SeriesPublic,
    TwinPointPublic,
)
from waterops.errors import LiveSystemError, PayloadError, RecordNotFoundError, UnitError
from waterops.model.accounts import Permission, User
from waterops.model.telemetry import Quantity, Sensor
from waterops.telemetry.http_ingest import store_parsed
from waterops.telemetry.payloads import PayloadLimits, parse_message
from waterops.units import parse_duration_s

router = APIRouter(prefix="/telemetry", tags=["telemetry"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}}
MAX_POINTS = 20_000
"""Most intervals one series request may return."""
MAX_EVERY_S = 366 * 86400
"""Longest interval of a series [s] (a leap year)."""
Ingester = Annotated[User, Depends(requires(Permission.TELEMETRY_INGEST))]
Text = Annotated[ShortText, Query(max_length=64)]  # no NUL: a 422, not a 503 on PostgreSQL


def sensor_public(s: Sensor) -> SensorPublic:
    """The public form of a sensor."""
    return SensorPublic(id=s.id, system_id=s.system_id, quantity=s.quantity.value, unit=s.unit,
                        site_id=s.site_id, element_kind=s.element_kind, element_id=s.element_id,
                        lower=s.lower, upper=s.upper, interval_s=s.interval_s, name=s.name)


@router.get("/sensors", responses=_ERRORS)
def sensors(_user: OpsReader, ops: OpsDep, page: PageParams, system: Text | None = None,
            site: Text | None = None, quantity: Quantity | None = None) -> Page[SensorPublic]:
    """Registered sensors by id, filtered by system, site and quantity (staff)."""
    found = [s for s in ops.telemetry.sensors(system)
             if (site is None or s.site_id == site) and (quantity is None or s.quantity is
                                                          quantity)]
    items = found[page.offset:page.offset + page.limit]
    return Page(items=[sensor_public(s) for s in items], total=len(found), limit=page.limit,
                offset=page.offset)


@router.get("/latest", responses=_ERRORS, response_model=LatestPublic)
def latest(
    _user: OpsReader, ops: OpsDep,
    sensor: Annotated[list[ShortText] | None, Query(max_length=1000,
                                              description="only these sensors")] = None,
) -> Response:
    """The latest reading of every sensor (or of ``?sensor=a&sensor=b``), SI with its unit.

    The hot path of the operations centre: the body is written straight from the store's
    arrays (times as ISO 8601 UTC), not through a model per reading.
    """
    units = {s.id: s.unit for s in ops.registry.current().values()}
    frame = ops.telemetry.latest(sensor)
    stamps = frame["time"].to_numpy(dtype="datetime64[us]")
    whole_s = bool((stamps.astype(np.int64) % 1_000_000 == 0).all())
    times = np.datetime_as_string(stamps, unit="s" if whole_s else "us").tolist()
    items = [{"sensor_id": sid, "time": t + "Z", "value": v if math.isfinite(v) else None,
              "unit": units.get(sid, ""), "flags": f}
             for sid, t, v, f in zip(frame["sensor_id"].tolist(), times,
                                     frame["value"].tolist(), frame["flags"].tolist(),
                                     strict=True)]
    return Response(json.dumps({"items": items}, separators=(",", ":")),
                    media_type="application/json")


def _sensor(ops: OpsDep, sensor_id: str) -> Sensor:
    known = ops.registry.current().get(sensor_id)
    if known is None:
        ops.registry.refresh_for_unknown()
        known = ops.registry.current().get(sensor_id)
    if known is None:
        raise RecordNotFoundError("sensor", sensor_id)
    return known


def _num(v: float) -> float | None:
    return v if math.isfinite(v) else None


@router.get("/series/{sensor_id}", responses={**_ERRORS, 404: {}, 422: {}})
def series(
    sensor_id: Annotated[str, Path(max_length=64)], _user: OpsReader, ops: OpsDep,
    live: LiveDep,
    start: Annotated[AwareDatetime, Query(alias="from",
                                          description="ISO 8601 with a UTC offset")],
    end: Annotated[AwareDatetime, Query(alias="to", description="ISO 8601 with a UTC offset")],
    every: Annotated[str, Query(max_length=16, description="interval: 60, 15min, 1h, 1d")]
    = "15min",
    with_twin: Annotated[bool, Query(description="add the twin's modelled values")] = False,
) -> SeriesPublic:
    """Mean, min, max and count per interval of one sensor in [from, to) (staff)."""
    begin, finish = start, end
    try:
        every_s = parse_duration_s(every)
    except UnitError as exc:
        raise PayloadError("series", f"every={every!r}: {exc}") from None
    if not 0 < every_s <= MAX_EVERY_S:
        raise PayloadError("series", f"every={every!r} must be > 0 s and at most "
                           f"{MAX_EVERY_S // 86400} days")
    if finish <= begin:
        raise PayloadError("series", "to must be after from")
    if (finish - begin).total_seconds() / every_s > MAX_POINTS:
        raise PayloadError("series", f"more than {MAX_POINTS} intervals: ask for a longer "
                           "interval or a shorter window")
    sensor = _sensor(ops, sensor_id)
    frame = ops.telemetry.resample(sensor_id, begin, finish, every_s)
    points = [SeriesPointPublic(time=t.to_pydatetime(), mean=_num(m), min=_num(lo),
                                max=_num(hi), count=int(n))
              for t, m, lo, hi, n in zip(frame["time"], frame["mean"].tolist(),
                                         frame["min"].tolist(), frame["max"].tolist(),
                                         frame["count"].tolist(), strict=True)]
    twin = None
    if with_twin:
        if live is None:
            raise LiveSystemError("no twin is running: with_twin=true needs `waterops demo`")
        twin = [TwinPointPublic(time=t, value=v)
                for t, v in live.twin_series(sensor_id, begin, finish)]
    return SeriesPublic(sensor_id=sensor_id, quantity=sensor.quantity.value, unit=sensor.unit,
                        every_s=every_s, points=points, twin=twin)


@router.post("/readings", responses={**_ERRORS, 422: {}})
def ingest(
    request: Request, user: Ingester, ops: OpsDep,
    body: Annotated[dict[str, Any], Body(description="one reading or a batch "
                                         "(docs/telemetry.md)")],
) -> IngestPublic:
    """Store a batch of readings, all or nothing (a role with telemetry:ingest). A bad item
    is a 422 naming it; nothing of the batch is then stored."""
    client = request.client.host if request.client else "unknown"
    source = f"http POST by {user.username} from {client}"
    limits = PayloadLimits.at()
    sensors = ops.registry.current()
    parsed = parse_message(body, source=source, sensors=sensors, limits=limits)
    if any(d.reason.startswith("unknown sensor") for d in parsed.rejected) and (
            ops.registry.refresh_for_unknown()):
        sensors = ops.registry.current()
        parsed = parse_message(body, source=source, sensors=sensors, limits=limits)
    if parsed.rejected:
        first = parsed.rejected[0]
        raise PayloadError(first.source, f"{first.reason} (item {first.payload}); "
                           f"{len(parsed.rejected)} bad item(s), nothing stored")
    with ops.ingest_lock:  # the flagger keeps each series' tail between batches
        report = store_parsed(ops.ingest_store, [parsed], flagger=ops.flagger, sensors=sensors)
    return IngestPublic(received=report.received, stored=report.stored,
                        duplicates=report.duplicates)
