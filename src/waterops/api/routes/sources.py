"""``/sources``: early-warning status of the raw-water sources (GB 3838-2002 class III
limits) and the switch plan to the backup source (water-quality engineers, dispatchers,
administrators). The service is built on first use over the demo utility; a test may set
``app.state.sources`` first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from waterops.api.deps import CurrentUser, ServicesDep
from waterops.api.schemas.contamination import (
    SourceReadingsCreate,
    SourceStatusPublic,
    SwitchPlanCreate,
    SwitchPlanPublic,
)
from waterops.service.sources import SourceService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.telemetry_store import TelemetryStore

router = APIRouter(prefix="/sources", tags=["raw-water sources"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 422: {}}


def source_service(request: Request) -> SourceService:
    """The application's source service (built once, on first use)."""
    found: SourceService | None = getattr(request.app.state, "sources", None)
    if found is None:
        found = SourceService(None, build_demo_utility())
        request.app.state.sources = found
    return found


SourcesDep = Annotated[SourceService, Depends(source_service)]


@router.post("/status", responses=_ERRORS)
def status(body: SourceReadingsCreate, user: CurrentUser, svc: SourcesDep,
           services: ServicesDep) -> list[SourceStatusPublic]:
    """Each source's early-warning level (normal, warning, alarm) from the latest readings of
    its intake analysers in the telemetry store and the values given (laboratory results,
    which take precedence), with the limit and its source for every parameter."""
    telemetry = TelemetryStore(services.accounts.engine)
    return [SourceStatusPublic.of(s)
            for s in svc.status(user, body.readings, telemetry=telemetry)]


@router.post("/switch-plan", responses=_ERRORS)
def switch_plan(body: SwitchPlanCreate, user: CurrentUser,
                svc: SourcesDep) -> SwitchPlanPublic:
    """Start the backup source: the actions, which zones change source and when the switch
    takes effect there, pressures before and after, chlorine after (a few EPANET runs: about
    half a minute on the demo network)."""
    plan = svc.switch_plan(user, body.failed_source_id, backup_source_id=body.backup_source_id,
                           horizon_s=round(body.horizon_h * 3600))
    return SwitchPlanPublic.of(plan)
