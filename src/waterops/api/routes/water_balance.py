"""``/water-balance``: the IWA water balance of systems and DMAs, leakage indices (ILI, CJJ
92-2016 grade) and the report as HTML or PDF (planners, dispatchers, administrators).

The service reads the input file named by ``WATEROPS_BALANCE_FILE`` (else
``water-balance.csv`` in the data directory), built on first use; a test may set
``app.state.water_balance`` before the first request.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page
from waterops.api.schemas.water_balance import NightFlowPublic, WaterBalancePublic
from waterops.config import load_settings
from waterops.planning.water_balance import WaterBalance
from waterops.service.virtual_utility import build_demo_utility
from waterops.service.water_balance import WaterBalanceService, configured_balance_file
from waterops.store.telemetry_store import TelemetryStore

router = APIRouter(prefix="/water-balance", tags=["water balance"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 400: {}}
_BUILD_LOCK = threading.Lock()
SystemQuery = Annotated[str | None, Query(min_length=1, max_length=64,
                                          description="water system id (default: all)")]
PeriodQuery = Annotated[str | None, Query(
    min_length=4, max_length=32, pattern=r"^[0-9][0-9/-]*$",
    description="period label: 2026, 2026-11 or 2026-01-01/2026-03-31 (default: all)")]


def water_balance_service(request: Request, services: ServicesDep) -> WaterBalanceService:
    """The application's water-balance service (built once, on first use)."""
    service: WaterBalanceService | None = getattr(request.app.state, "water_balance", None)
    if service is not None:
        return service
    with _BUILD_LOCK:
        service = getattr(request.app.state, "water_balance", None)
        if service is None:
            service = WaterBalanceService(configured_balance_file(load_settings().data_dir),
                                          telemetry=TelemetryStore(services.accounts.engine),
                                          layout=build_demo_utility)
            request.app.state.water_balance = service
    return service


BalanceDep = Annotated[WaterBalanceService, Depends(water_balance_service)]


def _page(found: list[WaterBalance], page: PageParams) -> Page[WaterBalancePublic]:
    items = found[page.offset:page.offset + page.limit]
    return Page[WaterBalancePublic](items=[WaterBalancePublic.of(b) for b in items],
                                    total=len(found), limit=page.limit, offset=page.offset)


@router.get("", responses=_ERRORS)
def system_balances(user: CurrentUser, service: BalanceDep, page: PageParams,
                    system: SystemQuery = None,
                    period: PeriodQuery = None) -> Page[WaterBalancePublic]:
    """Water balances of the water systems, by system and period."""
    return _page(service.balances(user, scope="system", system=system, period=period), page)


@router.get("/dmas", responses=_ERRORS)
def dma_balances(user: CurrentUser, service: BalanceDep, page: PageParams,
                 system: SystemQuery = None,
                 period: PeriodQuery = None) -> Page[WaterBalancePublic]:
    """Water balances of the DMAs, by DMA and period."""
    return _page(service.balances(user, scope="dma", system=system, period=period), page)


@router.get("/report.html", response_class=HTMLResponse,
            responses={**_ERRORS, 200: {"content": {"text/html": {}}}})
def report_html(user: CurrentUser, service: BalanceDep,
                system: SystemQuery = None) -> HTMLResponse:
    """The water-balance report as one self-contained HTML page (plotly.js inline)."""
    return HTMLResponse(service.report_html(user, system=system))


@router.get("/report.pdf", response_class=Response,
            responses={**_ERRORS, 200: {"content": {"application/pdf": {}}}})
def report_pdf(user: CurrentUser, service: BalanceDep, system: SystemQuery = None) -> Response:
    """The water-balance report as PDF."""
    return Response(service.report_pdf(user, system=system), media_type="application/pdf",
                    headers={"Content-Disposition":
                             'attachment; filename="water-balance-report.pdf"'})


@router.get("/dmas/{dma_id}/night-flow", responses=_ERRORS)
def dma_night_flow(user: CurrentUser, service: BalanceDep,
                   dma_id: Annotated[str, Path(min_length=1, max_length=64)],
                   start: Annotated[AwareDatetime, Query(alias="from")],
                   end: Annotated[AwareDatetime, Query(alias="to")]) -> list[NightFlowPublic]:
    """Minimum night flow, legitimate night use, net night flow and daily leakage of a DMA of
    the demo utility, night by night, from its boundary meters in the store."""
    frame = service.dma_night_flow(user, dma_id, start, end)
    return [NightFlowPublic.of(night, row) for night, row in frame.iterrows()]
