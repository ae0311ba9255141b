"""``/metrics``: service metrics (staff: administrators, dispatchers, service agents), as JSON
or as a CSV file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from waterops.api.deps import CurrentUser
from waterops.api.routes.enterprises import CareDep
from waterops.api.schemas.metrics import ServiceMetricsPublic

router = APIRouter(prefix="/metrics", tags=["service metrics"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}}
StartQuery = Annotated[AwareDatetime | None, Query(description="records created from")]
EndQuery = Annotated[AwareDatetime | None, Query(description="records created until")]


@router.get("", responses=_ERRORS)
def metrics(user: CurrentUser, care: CareDep, start: StartQuery = None,
            end: EndQuery = None) -> ServiceMetricsPublic:
    """Applications per stage, median days to water on, SLA breaches, complaints per category,
    median time to callback, satisfaction and rectification rates."""
    return ServiceMetricsPublic.of(care.metrics.metrics(user, start=start, end=end))


@router.get("/export.csv", response_class=Response,
            responses={**_ERRORS, 200: {"content": {"text/csv": {}}}})
def export_csv(user: CurrentUser, care: CareDep, start: StartQuery = None,
               end: EndQuery = None) -> Response:
    """The same metrics as a CSV file (``metric,key,value,unit``)."""
    text = care.metrics.metrics(user, start=start, end=end).to_csv()
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="service-metrics.csv"'})
