"""``/pipes`` and ``/renewal/plans``: the pipe register and renewal plans (planners and
administrators: ``Permission.RENEWAL_PLAN``).

The renewal service is built on first use over the application's database
(:func:`renewal_service`); a test may set ``app.state.renewal`` before the first request.
GeoJSON exports draw the pipes of ``WATEROPS_NETWORK``'s network (default: the demo
network, reprojected from its EPSG:4547 coordinates to WGS84).
"""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page, RecordId
from waterops.api.schemas.renewal import (
    ElementId,
    PipePublic,
    PlanComparisonRow,
    PlanCreate,
    PlanPublic,
    SystemId,
)
from waterops.config import load_settings
from waterops.data import DEMO_NETWORK_CRS, demo_network_path
from waterops.model.accounts import Permission
from waterops.planning.plan_export import plan_csv_text, plan_geojson
from waterops.service.auth import require
from waterops.service.renewal import PlanRequest, RenewalService
from waterops.store.pipe_register_store import PipeRegisterStore

router = APIRouter(tags=["pipe renewal"])

PlanIdPath = Annotated[RecordId, Path(description="renewal plan id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}
_BUILD_LOCK = threading.Lock()


def renewal_service(request: Request, services: ServicesDep) -> RenewalService:
    """The application's renewal service (built once, on first use)."""
    service: RenewalService | None = getattr(request.app.state, "renewal", None)
    if service is not None:
        return service
    with _BUILD_LOCK:
        service = getattr(request.app.state, "renewal", None)
        if service is None:
            service = RenewalService(PipeRegisterStore(services.accounts.engine),
                                     clock=services.auth.clock)
            request.app.state.renewal = service
    return service


RenewalDep = Annotated[RenewalService, Depends(renewal_service)]


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


@router.get("/pipes", responses=_ERRORS)
def list_pipes(user: CurrentUser, page: PageParams, renewal: RenewalDep,
               system: Annotated[SystemId, Query(description="water system")],
               road_id: Annotated[ElementId | None, Query()] = None,
               material: Annotated[str | None, Query(max_length=16,
                                                     pattern=r"^[A-Z]+$")] = None,
               ) -> Page[PipePublic]:
    """One page of a system's pipe register (404 if the system has none)."""
    renewal.register_exists(user, system)
    table, total, failures = renewal.pipes_page(user, system, page.limit, page.offset,
                                                road_id=road_id, material=material)
    items = [PipePublic(pipe_id=str(pipe_id), material=row["material"],
                        diameter_m=float(row["diameter_m"]),
                        install_year=int(row["install_year"]),
                        length_m=float(row["length_m"]), road_id=row["road_id"],
                        road_class=row["road_class"], pressure_m=_number(row["pressure_m"]),
                        failures=failures.get(str(pipe_id), 0))
             for pipe_id, row in zip(table.index, table.to_dict("records"), strict=True)]
    return Page[PipePublic](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/renewal/plans", status_code=201, responses={**_ERRORS, 422: {}})
def create_plan(body: PlanCreate, user: CurrentUser, renewal: RenewalDep) -> PlanPublic:
    """Make a renewal plan for a system's register (HiGHS, or the greedy baseline)."""
    request = PlanRequest(
        name=body.name, budgets_yuan=tuple(body.budgets_yuan), start_year=body.start_year,
        method=body.method, whole_roads=body.whole_roads,
        min_project_length_m=body.min_project_length_m,
        project_cost_yuan=body.project_cost_yuan, must_do=tuple(body.must_do),
        must_not=tuple(body.must_not), appraisal_years=body.appraisal_years,
        discount_rate=body.discount_rate, time_limit_s=body.time_limit_s)
    return PlanPublic.of(renewal.make_plan(user, body.system, request))


@router.get("/renewal/plans/compare", responses=_ERRORS)
def compare_plans(user: CurrentUser, renewal: RenewalDep,
                  ids: Annotated[list[RecordId], Query(min_length=1, max_length=10,
                                                       description="plan ids")],
                  ) -> list[PlanComparisonRow]:
    """Plans side by side."""
    table = renewal.compare(user, list(ids))
    rows = []
    for record in table.to_dict("records"):
        for key in ("failures_avoided", "leakage_avoided_m3", "mip_gap"):
            record[key] = _number(record[key])
        rows.append(PlanComparisonRow.model_validate(record))
    return rows


@router.get("/renewal/plans/{plan_id}", responses=_ERRORS)
def get_plan(plan_id: PlanIdPath, user: CurrentUser, renewal: RenewalDep) -> PlanPublic:
    """A saved plan with its years and pipes."""
    return PlanPublic.of(renewal.plan(user, plan_id))


@router.get("/renewal/plans/{plan_id}/csv", response_class=PlainTextResponse,
            responses=_ERRORS)
def plan_csv(plan_id: PlanIdPath, user: CurrentUser, renewal: RenewalDep) -> PlainTextResponse:
    """The plan's pipes as CSV."""
    plan = renewal.plan(user, plan_id)
    return PlainTextResponse(plan_csv_text(plan.pipes), media_type="text/csv",
                             headers={"Content-Disposition":
                                      f'attachment; filename="renewal-plan-{plan_id}.csv"'})


@router.get("/renewal/plans/{plan_id}/geojson", responses=_ERRORS)
def plan_geojson_route(plan_id: PlanIdPath, user: CurrentUser, renewal: RenewalDep
                       ) -> JSONResponse:
    """The plan's pipes as GeoJSON lines (WGS84 for the demo network) for the map."""
    require(user, Permission.RENEWAL_PLAN, f"renewal plan {plan_id}")
    plan = renewal.plan(user, plan_id)
    from waterops.io.inp import read_inp

    configured = load_settings().network_file
    network = read_inp(configured or demo_network_path())
    collection = plan_geojson(plan.pipes, network,
                              source_crs=None if configured else DEMO_NETWORK_CRS,
                              name=plan.name)
    return JSONResponse(collection, media_type="application/geo+json")
