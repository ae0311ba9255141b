"""``/treatment``: coagulant and ozone dose ranges learned from the plant's history, and
plant-outlet drift towards the GB 5749-2022 limits (water-quality engineers, dispatchers,
administrators).

The service is built on first use (history from ``WATEROPS_PLANT_HISTORY`` or the synthetic
demo history, telemetry from the application's database); a test may set
``app.state.treatment`` before the first request.
"""

from __future__ import annotations

import math
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from waterops.api.deps import CurrentUser, ServicesDep
from waterops.api.schemas.treatment import (
    DriftFlagPublic,
    OutletDriftPublic,
    RecommendationCreate,
    RecommendationPublic,
)
from waterops.service.treatment import TreatmentService
from waterops.store.telemetry_store import TelemetryStore

router = APIRouter(prefix="/treatment", tags=["treatment"])

_ERRORS: dict[int | str, dict[str, object]] = {400: {}, 401: {}, 403: {}}
_BUILD_LOCK = threading.Lock()


def treatment_service(request: Request, services: ServicesDep) -> TreatmentService:
    """The application's treatment service (built once, on first use)."""
    service: TreatmentService | None = getattr(request.app.state, "treatment", None)
    if service is not None:
        return service
    with _BUILD_LOCK:
        service = getattr(request.app.state, "treatment", None)
        if service is None:
            service = TreatmentService.from_environment(
                TelemetryStore(services.accounts.engine), clock=services.auth.clock)
            request.app.state.treatment = service
    return service


TreatmentDep = Annotated[TreatmentService, Depends(treatment_service)]


@router.post("/recommendation", responses=_ERRORS)
def recommend(body: RecommendationCreate, user: CurrentUser,
              service: TreatmentDep) -> RecommendationPublic:
    """Coagulant and ozone dose ranges for the raw water given."""
    return RecommendationPublic.of(service.recommend(user, body.raw(), body.level))


@router.get("/recommendation", responses=_ERRORS)
def recommend_get(user: CurrentUser, service: TreatmentDep,
                  query: Annotated[RecommendationCreate, Query()]) -> RecommendationPublic:
    """The same as POST, with the raw-water quality in the query string."""
    return RecommendationPublic.of(service.recommend(user, query.raw(), query.level))


@router.get("/outlet-drift", responses=_ERRORS)
def outlet_drift(user: CurrentUser, service: TreatmentDep,
                 window_days: Annotated[float, Query(ge=1, le=90)] = 7.0,
                 horizon_days: Annotated[float, Query(ge=1, le=90)] = 14.0
                 ) -> OutletDriftPublic:
    """Plant-outlet turbidity and chlorine of the last days against GB 5749-2022."""
    flags, frame = service.outlet_drift(user, window_days=window_days,
                                        horizon_days=horizon_days)
    hours = {c: int(frame[c].notna().sum()) for c in frame.columns}
    return OutletDriftPublic(window_days=window_days, hours_seen=hours,
                             flags=[DriftFlagPublic.of(f) for f in flags
                                    if math.isfinite(f.level)])
