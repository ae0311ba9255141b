"""``/enterprises``: enterprise one-to-one service — accounts, visits, problems to closure,
rates, consumption analysis and savings advice.

The enterprise service sits beside the application's :class:`Services`, built on first use
from the same database (:func:`enterprise_care`) with the telemetry store, the tariff book
(``WATEROPS_TARIFF_FILE`` or the demo book), the application's clock and holiday calendar.
A test may set ``app.state.enterprise_care`` before the first request.

Enterprise customers see their own enterprise's records; account managers (service agents,
administrators) record visits and problems; a foreign or missing record is a 404.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page, RecordId, ShortText
from waterops.api.schemas.enterprises import (
    ConsumptionPublic,
    EnterpriseCreate,
    EnterprisePublic,
    EnterpriseUpdate,
    ProblemCreate,
    ProblemEventPublic,
    ProblemPublic,
    ProblemRating,
    ProblemUpdate,
    ProblemWithHistoryPublic,
    RatesPublic,
    SavingsAdvicePublic,
    VisitCreate,
    VisitPublic,
    VisitRecordedPublic,
)
from waterops.errors import EnterpriseError
from waterops.service.enterprise_service import (
    EnterpriseDraft,
    EnterpriseService,
    ProblemDraft,
    VisitDraft,
    configured_tariff_book,
)
from waterops.service.service_metrics import ServiceMetricsService
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.enterprises_store import EnterprisesStore
from waterops.store.telemetry_store import TelemetryStore

router = APIRouter(prefix="/enterprises", tags=["enterprise service"])

EnterpriseIdPath = Annotated[RecordId, Path(description="enterprise id")]
ProblemIdPath = Annotated[RecordId, Path(description="enterprise problem id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}
_BUILD_LOCK = threading.Lock()
DEFAULT_WINDOW = timedelta(days=7)
"""Consumption window when none is given: the last 7 days."""


@dataclass
class EnterpriseCare:
    """The enterprise service and the service metrics of one application."""

    enterprises: EnterpriseService
    metrics: ServiceMetricsService


def enterprise_care(request: Request, services: ServicesDep) -> EnterpriseCare:
    """The application's enterprise service and metrics (built once, on first use)."""
    care: EnterpriseCare | None = getattr(request.app.state, "enterprise_care", None)
    if care is not None:
        return care
    with _BUILD_LOCK:
        care = getattr(request.app.state, "enterprise_care", None)
        if care is None:
            care = build_enterprise_care(services)
            request.app.state.enterprise_care = care
    return care


def build_enterprise_care(services: ServicesDep) -> EnterpriseCare:
    """Enterprise service and metrics over the application's database."""
    engine = services.accounts.engine
    store = EnterprisesStore(engine)
    clock = services.auth.clock
    return EnterpriseCare(
        EnterpriseService(store, TelemetryStore(engine), tariffs=configured_tariff_book(),
                          clock=clock),
        ServiceMetricsService(ConnectionsStore(engine), ComplaintsStore(engine), store,
                              services.connections.calendar, clock=clock),
    )


CareDep = Annotated[EnterpriseCare, Depends(enterprise_care)]
StartQuery = Annotated[AwareDatetime | None, Query(description="window start (default: end - 7 d)")]
EndQuery = Annotated[AwareDatetime | None, Query(description="window end (default: now)")]


def _window(care: EnterpriseCare, start: datetime | None, end: datetime | None
            ) -> tuple[datetime, datetime]:
    end = end or care.enterprises.clock()
    if start is None:
        try:
            start = end - DEFAULT_WINDOW
        except OverflowError:
            raise EnterpriseError(f"no 7-day window ends at {end.isoformat()}") from None
    return start, end


# -- problems first: "/problems/…" must not be read as an enterprise id -------------------------


@router.get("/problems/{problem_id}", responses=_ERRORS)
def get_problem(problem_id: ProblemIdPath, user: CurrentUser,
                care: CareDep) -> ProblemWithHistoryPublic:
    """A problem with its history (an enterprise customer: their own only)."""
    problem, history = care.enterprises.problem(user, problem_id)
    return ProblemWithHistoryPublic(problem=ProblemPublic.of(problem),
                                    history=[ProblemEventPublic.of(e) for e in history])


@router.post("/problems/{problem_id}/actions", responses={**_ERRORS, 422: {}, 409: {}})
def act_on_problem(problem_id: ProblemIdPath, body: ProblemUpdate, user: CurrentUser,
                   care: CareDep) -> ProblemPublic:
    """Move a problem: start, rectify, verify (with the customer's score), reopen, or declare
    it not rectifiable (with the reason in ``note``). A move its state does not allow is
    refused (account managers)."""
    return ProblemPublic.of(care.enterprises.act_on_problem(
        user, problem_id, body.action, body.note, body.satisfaction))


@router.post("/problems/{problem_id}/rating", responses={**_ERRORS, 422: {}})
def rate_problem(problem_id: ProblemIdPath, body: ProblemRating, user: CurrentUser,
                 care: CareDep) -> ProblemPublic:
    """The enterprise rates its closed problem, once (1-5)."""
    return ProblemPublic.of(care.enterprises.rate_problem(user, problem_id, body.score))


@router.get("/rates", responses=_ERRORS)
def rates(
    user: CurrentUser, care: CareDep,
    manager_id: Annotated[RecordId | None, Query(description="account manager")] = None,
    park_id: Annotated[ShortText | None, Query(max_length=64,
                                               description="industrial park")] = None,
    start: Annotated[AwareDatetime | None, Query(description="problems raised from")] = None,
    end: Annotated[AwareDatetime | None, Query(description="problems raised until")] = None,
) -> RatesPublic:
    """Rectification and satisfaction rates of a manager, a park, a period (staff)."""
    return RatesPublic.of(care.enterprises.rates(user, manager_id=manager_id, park_id=park_id,
                                                 start=start, end=end))


# -- enterprises ---------------------------------------------------------------------------------


@router.post("", status_code=201, responses={**_ERRORS, 422: {}})
def register(body: EnterpriseCreate, user: CurrentUser, care: CareDep) -> EnterprisePublic:
    """Register an enterprise account with its meters (account managers)."""
    return EnterprisePublic.of(care.enterprises.register(user, EnterpriseDraft(
        account_id=body.account_id, name=body.name, industry=body.industry,
        park_id=body.park_id, manager_id=body.manager_id,
        customer_user_id=body.customer_user_id, tariff_name=body.tariff_name,
        meter_sensor_ids=tuple(body.meter_sensor_ids),
        justified_night_flow_m3s=body.justified_night_flow_m3s, employees=body.employees,
        output_per_day=body.output_per_day, output_unit=body.output_unit,
    )))


@router.get("", responses=_ERRORS)
def list_enterprises(user: CurrentUser, page: PageParams,
                     care: CareDep) -> Page[EnterprisePublic]:
    """Enterprises: an enterprise customer's own, or all for staff."""
    found, total = care.enterprises.visible(user, limit=page.limit, offset=page.offset)
    return Page(items=[EnterprisePublic.of(e) for e in found], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/{enterprise_id}", responses=_ERRORS)
def get_enterprise(enterprise_id: EnterpriseIdPath, user: CurrentUser,
                   care: CareDep) -> EnterprisePublic:
    """One enterprise (a customer's own only)."""
    return EnterprisePublic.of(care.enterprises.get(user, enterprise_id))


@router.patch("/{enterprise_id}", responses={**_ERRORS, 422: {}})
def update_enterprise(enterprise_id: EnterpriseIdPath, body: EnterpriseUpdate,
                      user: CurrentUser, care: CareDep) -> EnterprisePublic:
    """Change an enterprise's record: manager, tariff, meters, justified night use …
    (account managers; audited with before and after)."""
    return EnterprisePublic.of(care.enterprises.update(user, enterprise_id, body.changes()))


@router.post("/{enterprise_id}/visits", status_code=201, responses={**_ERRORS, 422: {}})
def record_visit(enterprise_id: EnterpriseIdPath, body: VisitCreate, user: CurrentUser,
                 care: CareDep) -> VisitRecordedPublic:
    """Log a visit: date, topics, notes and the problems raised (account managers)."""
    visit, problems = care.enterprises.record_visit(user, enterprise_id, VisitDraft(
        body.visited_on, tuple(body.topics), body.notes,
        tuple(ProblemDraft(p.title, p.description) for p in body.problems)))
    return VisitRecordedPublic(visit=VisitPublic.of(visit),
                               problems=[ProblemPublic.of(p) for p in problems])


@router.get("/{enterprise_id}/visits", responses=_ERRORS)
def list_visits(enterprise_id: EnterpriseIdPath, user: CurrentUser, page: PageParams,
                care: CareDep) -> Page[VisitPublic]:
    """Visits to an enterprise, newest first."""
    visits = care.enterprises.visits(user, enterprise_id)
    items = visits[page.offset:page.offset + page.limit]
    return Page(items=[VisitPublic.of(v) for v in items], total=len(visits),
                limit=page.limit, offset=page.offset)


@router.post("/{enterprise_id}/problems", status_code=201, responses={**_ERRORS, 422: {}})
def raise_problem(enterprise_id: EnterpriseIdPath, body: ProblemCreate, user: CurrentUser,
                  care: CareDep) -> ProblemPublic:
    """Record a problem the enterprise raised (account managers)."""
    return ProblemPublic.of(care.enterprises.raise_problem(
        user, enterprise_id, ProblemDraft(body.title, body.description), body.visit_id))


@router.get("/{enterprise_id}/problems", responses=_ERRORS)
def list_problems(enterprise_id: EnterpriseIdPath, user: CurrentUser, page: PageParams,
                  care: CareDep) -> Page[ProblemPublic]:
    """Problems of an enterprise, oldest first."""
    problems = care.enterprises.problems(user, enterprise_id)
    items = problems[page.offset:page.offset + page.limit]
    return Page(items=[ProblemPublic.of(p) for p in items], total=len(problems),
                limit=page.limit, offset=page.offset)


@router.get("/{enterprise_id}/consumption", responses={**_ERRORS, 422: {}})
def consumption(enterprise_id: EnterpriseIdPath, user: CurrentUser, care: CareDep,
                start: StartQuery = None, end: EndQuery = None) -> ConsumptionPublic:
    """Daily profile, night flow (leak hint) and peer comparison over [start, end)."""
    start, end = _window(care, start, end)
    return ConsumptionPublic.of(care.enterprises.consumption(user, enterprise_id, start, end))


@router.get("/{enterprise_id}/advice", responses={**_ERRORS, 422: {}})
def advice(
    enterprise_id: EnterpriseIdPath, user: CurrentUser, care: CareDep,
    start: StartQuery = None, end: EndQuery = None,
    reuse_share: Annotated[float, Query(ge=0, lt=1, allow_inf_nan=False,
                                        description="share of water to reuse [0-1)")] = 0.10,
) -> SavingsAdvicePublic:
    """Savings advice in yuan per year (leak, reuse, shifting), each with its reasoning."""
    start, end = _window(care, start, end)
    return SavingsAdvicePublic.of(care.enterprises.advice(user, enterprise_id, start, end,
                                                          reuse_share=reuse_share))
