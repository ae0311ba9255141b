"""``/trunk-main``: the raw-water trunk main's tile (safe-operation days, volume delivered today
and in total, last failure, meter status) and its failure record.

The service is built on first use from the demo utility's layout and network (until a utility
loads its own) over the application's database (:func:`trunk_main`); a test may set
``app.state.trunk_main`` before the first request.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page
from waterops.api.schemas.work_orders import (
    TrunkMainFailureCreate,
    TrunkMainFailurePublic,
    TrunkMainPublic,
)
from waterops.io.inp import read_inp
from waterops.service.alarms import AlarmService
from waterops.service.trunk_main import TrunkMainService, trunk_main_config
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore

router = APIRouter(prefix="/trunk-main", tags=["trunk main"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}}
_BUILD_LOCK = threading.Lock()


def trunk_main(request: Request, services: ServicesDep) -> TrunkMainService:
    """The application's trunk-main service (built once, on first use)."""
    svc: TrunkMainService | None = getattr(request.app.state, "trunk_main", None)
    if svc is not None:
        return svc
    with _BUILD_LOCK:
        svc = getattr(request.app.state, "trunk_main", None)
        if svc is None:
            layout = build_demo_utility()
            engine = services.accounts.engine
            clock = services.auth.clock
            svc = TrunkMainService(engine, trunk_main_config(layout, read_inp(layout.network_file)),
                                   AlarmService(AlarmStore(engine), clock=clock), clock=clock)
            request.app.state.trunk_main = svc
    return svc


TrunkDep = Annotated[TrunkMainService, Depends(trunk_main)]


@router.get("", responses=_ERRORS)
def status(user: CurrentUser, svc: TrunkDep) -> TrunkMainPublic:
    """Safe-operation days, volume delivered today (local day) and since commissioning,
    the last failure and each meter's latest reading (staff)."""
    return TrunkMainPublic.of(svc.status(user))


@router.get("/failures", responses=_ERRORS)
def failures(user: CurrentUser, page: PageParams, svc: TrunkDep
             ) -> Page[TrunkMainFailurePublic]:
    """Recorded failures, latest first (staff)."""
    items, total = svc.failures(user, limit=page.limit, offset=page.offset)
    return Page(items=[TrunkMainFailurePublic.of(f) for f in items], total=total,
                limit=page.limit, offset=page.offset)


@router.post("/failures", status_code=201, responses={**_ERRORS, 422: {}})
def record_failure(body: TrunkMainFailureCreate, user: CurrentUser,
                   svc: TrunkDep) -> TrunkMainFailurePublic:
    """Record a failure (dispatcher): the safe-operation counter restarts from its day."""
    return TrunkMainFailurePublic.of(svc.record_failure(
        user, body.occurred_at, link_id=body.link_id, description=body.description,
        work_order_id=body.work_order_id))
