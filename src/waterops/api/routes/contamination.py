"""``/contamination``: forward spread of an injection (exposure at 1, 6, 24 h, do-not-drink
area, hydrant flushing plan), source tracing from sensor readings, and the do-not-drink
notice (water-quality engineers, dispatchers, administrators analyse; whoever may issue
notices issues).

The service is built on first use over the demo utility and the application's notice
service; a test may set ``app.state.contamination`` before the first request. Tracing runs
its demand scenarios in the server process, or on the Dask cluster of
``WATEROPS_DASK_ADDRESS``.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from waterops.api.deps import CurrentUser, ServicesDep
from waterops.api.routes.complaints import customer_care
from waterops.api.schemas.contamination import (
    DoNotDrinkCreate,
    DoNotDrinkPublic,
    SpreadCreate,
    SpreadPublic,
    TraceCreate,
    TracePublic,
)
from waterops.config import load_settings
from waterops.service.contamination import ContaminationService, Detection
from waterops.service.virtual_utility import build_demo_utility

router = APIRouter(prefix="/contamination", tags=["contamination"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
_BUILD_LOCK = threading.Lock()


def contamination_service(request: Request, services: ServicesDep) -> ContaminationService:
    """The application's contamination service (built once, on first use)."""
    found: ContaminationService | None = getattr(request.app.state, "contamination", None)
    if found is not None:
        return found
    care = customer_care(request, services)
    with _BUILD_LOCK:
        found = getattr(request.app.state, "contamination", None)
        if found is None:
            found = ContaminationService(
                None, build_demo_utility(), notices=care.notices,
                audit_engine=services.accounts.engine, clock=services.auth.clock,
                dask_address=load_settings().dask_address)
            request.app.state.contamination = found
    return found


ContaminationDep = Annotated[ContaminationService, Depends(contamination_service)]


@router.post("/spread", responses=_ERRORS)
def spread(body: SpreadCreate, user: CurrentUser, svc: ContaminationDep) -> SpreadPublic:
    """Which nodes the contamination reaches, when and how strongly; nodes, customers and
    households reached within 1, 6 and 24 h; the do-not-drink area; the flushing plan."""
    report = svc.spread(user, body.injection(), horizon_s=round(body.horizon_h * 3600),
                        threshold_mg_l=body.threshold_mg_l)
    return SpreadPublic.of(report)


@router.post("/trace", responses=_ERRORS)
def trace(body: TraceCreate, user: CurrentUser, svc: ContaminationDep) -> TracePublic:
    """Candidate injection nodes and start times that explain the readings (detections and
    clean readings), ranked over an ensemble of demand scenarios."""
    detections = [Detection(r.sensor_id, r.at, r.concentration_mg_l) for r in body.readings]
    return TracePublic.of(svc.trace(user, detections, threshold_mg_l=body.threshold_mg_l,
                                    model_start=body.model_start, members=body.members,
                                    noise=body.noise))


@router.post("/do-not-drink", responses={**_ERRORS, 201: {}})
def do_not_drink(body: DoNotDrinkCreate, user: CurrentUser,
                 svc: ContaminationDep) -> DoNotDrinkPublic:
    """The do-not-drink notice of a spread's area: a draft (written to the audit log), or,
    with ``issue``, issued to the customers of the area."""
    s = body.spread
    report = svc.spread(user, s.injection(), horizon_s=round(s.horizon_h * 3600),
                        threshold_mg_l=s.threshold_mg_l, with_flushing=False)
    draft = svc.do_not_drink_draft(user, report, starts_at=body.starts_at,
                                   substance=body.substance)
    if not body.issue:
        return DoNotDrinkPublic.of(draft)
    return DoNotDrinkPublic.of(draft, svc.issue_do_not_drink(user, draft).id)
