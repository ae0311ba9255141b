"""``/isolation`` and ``/scenarios``: valve isolation plans, the close-a-link scenario of the
scenario page, and the outage notice of a plan (dispatchers, planners, administrators).

The isolation service is built on first use over the demo utility (its network, valve layer,
customers and critical users) and the application's notice service; a test may set
``app.state.isolation`` before the first request.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from waterops.api.deps import ServicesDep, requires
from waterops.api.routes.complaints import customer_care
from waterops.api.schemas.isolation import (
    ClosureCreate,
    ClosurePublic,
    PlanCreate,
    PlanNoticeCreate,
    PlanNoticePublic,
    PlanPublic,
)
from waterops.api.schemas.notices import ElementId
from waterops.data import demo_network_path
from waterops.emergency.isolation import Isolator
from waterops.model.accounts import Permission, User
from waterops.service.isolation import IsolationService, load_isolator
from waterops.service.virtual_utility import build_demo_utility

router = APIRouter(tags=["valve isolation and scenarios"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
_BUILD_LOCK = threading.Lock()

Planner = Annotated[User, Depends(requires(Permission.ISOLATION_PLAN))]
"""The current user, if their role may plan isolations (checked before the network loads)."""


@lru_cache(maxsize=1)
def _demo_isolator() -> Isolator:
    # read-only once built: every application of the process shares it
    return load_isolator(demo_network_path(), layout=build_demo_utility())


def isolation_service(request: Request, services: ServicesDep) -> IsolationService:
    """The application's isolation service (built once, on first use)."""
    found: IsolationService | None = getattr(request.app.state, "isolation", None)
    if found is not None:
        return found
    care = customer_care(request, services)
    with _BUILD_LOCK:
        found = getattr(request.app.state, "isolation", None)
        if found is None:
            layout = build_demo_utility()
            found = IsolationService(
                _demo_isolator(), demo_network_path(),
                layout=layout, notices=care.notices, audit_engine=services.accounts.engine,
                clock=services.auth.clock)
            request.app.state.isolation = found
    return found


IsolationDep = Annotated[IsolationService, Depends(isolation_service)]


@router.post("/isolation/plan", responses=_ERRORS)
def plan(body: PlanCreate, user: Planner, iso: IsolationDep) -> PlanPublic:
    """The valves to close to isolate a pipe (or a node), the segment to draw, the customers
    and critical users who lose water, the unintended isolations and the supply lost; with
    ``with_hydraulics``, also the lowest pressures and pressure drops of the closure."""
    return PlanPublic.of(iso.plan(user, pipe_id=body.pipe_id, node_id=body.node_id,
                                  with_hydraulics=body.with_hydraulics,
                                  failed_valves=body.failed_valves))


@router.post("/isolation/plan/map", responses=_ERRORS)
def plan_map(body: PlanCreate, user: Planner, iso: IsolationDep) -> dict[str, Any]:
    """The plan as GeoJSON (WGS84): the segment and the unintended isolations (``role``),
    the valves to close (and those that will not), the critical users."""
    return iso.plan_map(user, pipe_id=body.pipe_id, node_id=body.node_id,
                        failed_valves=body.failed_valves)


@router.post("/scenarios/close", responses=_ERRORS)
def close_links(body: ClosureCreate, user: Planner, iso: IsolationDep) -> ClosurePublic:
    """Close links (pipes, pumps, valves): who loses water (cut off from every source) and
    where pressure falls (per junction, in m, for colouring the map)."""
    return ClosurePublic.of(iso.close_links(user, body.link_ids))


@router.post("/isolation/plan/{element_id}/notice", responses={**_ERRORS, 201: {}})
def plan_notice(element_id: Annotated[ElementId, Path(description="pipe or node id")],
                body: PlanNoticeCreate, user: Planner, iso: IsolationDep
                ) -> PlanNoticePublic:
    """The outage notice of the plan for a pipe (or node, ``target``): a draft with the rules
    it breaks, or, with ``issue``, issued to the affected customers (dispatchers)."""
    target = {"pipe_id": element_id} if body.target == "pipe" else {"node_id": element_id}
    draft = iso.notice_draft(user, kind=body.kind, starts_at=body.starts_at,
                             ends_at=body.ends_at, reason=body.reason, area=body.area,
                             failed_valves=body.failed_valves, **target)
    if not body.issue:
        return PlanNoticePublic.of(draft)
    notice = iso.issue_notice(user, draft)
    return PlanNoticePublic.of(draft, notice.id)
