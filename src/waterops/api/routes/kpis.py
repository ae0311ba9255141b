"""``/kpis``: the operations centre's key figures (staff). See :mod:`waterops.service.kpis`
for how each is computed and what is estimated."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from waterops.api.deps import Services, ServicesDep
from waterops.api.operations import LiveDep, Operations, OpsDep, OpsReader
from waterops.api.schemas.kpis import KpisPublic
from waterops.errors import UnknownSensorError
from waterops.model.connections import FINAL_STATES, ConnectionState
from waterops.service.kpis import (
    LOCAL_UTC_OFFSET_S,
    nrw_estimate,
    open_alarm_count,
    volume_from_means,
)
from waterops.service.live import Live, day_start
from waterops.service.trunk_main import DEFAULT_COMMISSIONED, safe_operation_days
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.trunk_main_store import TrunkMainStore

router = APIRouter(tags=["key figures"])

HISTORY_DAYS = 3650
"""How far back "in total" looks [d]."""


def _source_volumes(ops: Operations, live: Live | None,
                    now: datetime) -> tuple[float | None, float | None]:
    """(today, total [m³]) from the source flow meters, if they are known."""
    if live is None or not live.source_meters:
        return None, None
    today_start = day_start(now, LOCAL_UTC_OFFSET_S)
    since = now - timedelta(days=HISTORY_DAYS)
    today = total = 0.0
    known = 0
    for sensor in sorted(live.source_meters):
        try:
            days = ops.telemetry.resample(sensor, since, now, 86_400,
                                          utc_offset_s=LOCAL_UTC_OFFSET_S)
        except UnknownSensorError:  # a meter of the layout the store has not registered yet
            continue
        known += 1
        rows = []
        for start, mean in zip(days["time"], days["mean"], strict=True):
            begin = start.to_pydatetime()
            rows.append((begin, float(mean), min(begin + timedelta(days=1), now)))
        total += volume_from_means(rows)
        today += volume_from_means(r for r in rows if r[0] >= today_start)
    return (today, total) if known else (None, None)


def _safe_days(live: Live | None, services: Services, now: datetime) -> int | None:
    """Safe-operation days of the raw-water trunk main: local calendar days since the last
    failure recorded for it (``POST /trunk-main/failures``), else since its commissioning
    (issue 9: the counter is reset by a recorded failure, not by an alarm). Unknown (None)
    without a utility layout that names the main."""
    if live is None:
        return None
    source = next((s for s in live.layout.sources if s.main_links and not s.backup), None)
    if source is None:
        return None
    return safe_operation_days(TrunkMainStore(services.accounts.engine), source.id,
                               DEFAULT_COMMISSIONED, now)


def _complaints_today(services: Services, now: datetime) -> int:
    store = ComplaintsStore(services.accounts.engine)
    since = day_start(now, LOCAL_UTC_OFFSET_S)
    count, offset, page = 0, 0, 200
    while True:  # newest first: stop at the first one before today
        items, _total = store.complaints(limit=page, offset=offset)
        fresh = [c for c in items if c.received_at >= since]
        count += len(fresh)
        if len(fresh) < len(items) or len(items) < page:
            return count
        offset += page


KPI_CACHE_S = 2.0
"""Figures younger than this are served again (every open stream asks every 10 s)."""
_cache_lock = threading.Lock()


def kpis_now(ops: Operations, live: Live | None, services: Services) -> KpisPublic:
    """The key figures now (computed at most every :data:`KPI_CACHE_S` per application)."""
    with _cache_lock:
        hit = ops.kpi_cache
        if hit is not None and time.monotonic() - hit[0] < KPI_CACHE_S:
            figures: KpisPublic = hit[1]
            return figures
    figures = _compute(ops, live, services)
    with _cache_lock:
        ops.kpi_cache = (time.monotonic(), figures)
    return figures


def _compute(ops: Operations, live: Live | None, services: Services) -> KpisPublic:
    now = live.now() if live is not None else datetime.now(UTC)
    wall = services.auth.clock()
    alarms = ops.alarm_store.alarms()
    today, total = _source_volumes(ops, live, now)
    if live is not None and live.simulator is not None:
        billed = live.simulator.delivered_m3
        nrw = nrw_estimate(live.source_input_m3 - live.storage_change_m3(), billed,
                           "demo: every customer is metered and billed; input = the sources' "
                           "flow less the water put into tank storage, billed = what the "
                           "simulator delivered to customers, since it started")
    else:
        nrw = nrw_estimate(None, None, "unknown: no billing data in this installation yet")
    pending = tuple(s for s in ConnectionState if s not in FINAL_STATES)
    _items, in_progress = ConnectionsStore(services.accounts.engine).applications(
        states=pending, limit=0)
    return KpisPublic(
        time=now,
        trunk_main_safe_days=_safe_days(live, services, now),
        delivered_today_m3=today, delivered_total_m3=total,
        nrw_percent=None if nrw.share is None else 100 * nrw.share,
        nrw_input_m3=nrw.input_m3, nrw_billed_m3=nrw.billed_m3, nrw_method=nrw.method,
        open_alarms=open_alarm_count(alarms), applications_in_progress=in_progress,
        complaints_today=_complaints_today(services, wall),
    )


@router.get("/kpis", responses={401: {}, 403: {}})
def kpis(_user: OpsReader, ops: OpsDep, live: LiveDep, services: ServicesDep) -> KpisPublic:
    """Safe-operation days of the trunk main, water delivered today and in total, NRW,
    open alarms, applications in progress, complaints today (staff)."""
    return kpis_now(ops, live, services)
