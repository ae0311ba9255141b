"""``/connections``: connection applications (用水报装) — apply, follow, advance, SLA."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from waterops.api.deps import CurrentUser, PageParams, ServicesDep, requires
from waterops.api.schemas.common import Page, RecordId
from waterops.api.schemas.connections import (
    ApplicationSlaPublic,
    ConnectionApplicationCreate,
    ConnectionApplicationPublic,
    ConnectionApplicationUpdate,
    TimelineEntryPublic,
)
from waterops.model.accounts import Permission, User
from waterops.model.connections import ConnectionState
from waterops.service.connections import ApplicationForm

router = APIRouter(prefix="/connections", tags=["connection applications"])

ApplicationId = Annotated[RecordId, Path(description="connection application id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}


@router.post("", status_code=201, responses={**_ERRORS, 422: {}})
def apply(
    body: ConnectionApplicationCreate, user: CurrentUser, services: ServicesDep
) -> ConnectionApplicationPublic:
    """Apply for a connection: the online form and one uploaded document (applicant step 1)."""
    app = services.connections.apply(
        user,
        ApplicationForm(
            template=body.template.value,
            address=body.address,
            contact_phone=body.contact_phone,
            meter_size_mm=body.meter_size_mm,
            document_id=body.document_id,
            external_works=body.external_works,
            park_id=body.park_id,
        ),
    )
    return ConnectionApplicationPublic.of(app)


@router.get("", responses=_ERRORS)
def list_applications(
    user: CurrentUser,
    page: PageParams,
    services: ServicesDep,
    state: Annotated[ConnectionState | None, Query(description="only in this state")] = None,
) -> Page[ConnectionApplicationPublic]:
    """Applications: a customer's own, or all for staff; in one state if asked."""
    apps, total = services.connections.visible(
        user, limit=page.limit, offset=page.offset, state=state
    )
    return Page(
        items=[ConnectionApplicationPublic.of(a) for a in apps],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/sla-report", responses=_ERRORS)
def sla_report(
    services: ServicesDep,
    page: PageParams,
    user: Annotated[User, Depends(requires(Permission.CONNECTIONS_SLA_REPORT))],
) -> Page[ApplicationSlaPublic]:
    """Applications whose promise is broken or about to be (staff)."""
    report = services.connections.sla_report(user)
    items = report[page.offset : page.offset + page.limit]
    return Page(
        items=[ApplicationSlaPublic.of(s) for s in items],
        total=len(report),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{application_id}", responses=_ERRORS)
def get_application(
    application_id: ApplicationId, user: CurrentUser, services: ServicesDep
) -> ConnectionApplicationPublic:
    """One application (a customer's own only)."""
    return ConnectionApplicationPublic.of(services.connections.get(user, application_id))


@router.post("/{application_id}/actions", responses={**_ERRORS, 409: {}})
def act(
    application_id: ApplicationId,
    body: ConnectionApplicationUpdate,
    user: CurrentUser,
    services: ServicesDep,
) -> ConnectionApplicationPublic:
    """Move the application: staff advance, pause, resume, reject; the applicant accepts the
    quote (step 2) or withdraws. A move its state does not allow is a 409."""
    app = services.connections.act(user, application_id, body.action, body.note)
    return ConnectionApplicationPublic.of(app)


@router.get("/{application_id}/timeline", responses=_ERRORS)
def timeline(
    application_id: ApplicationId, user: CurrentUser, page: PageParams, services: ServicesDep
) -> Page[TimelineEntryPublic]:
    """The live timeline of the application, oldest first."""
    entries = services.connections.timeline(user, application_id)
    items = entries[page.offset : page.offset + page.limit]
    return Page(
        items=[TimelineEntryPublic.of(e) for e in items],
        total=len(entries),
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{application_id}/sla", responses=_ERRORS)
def sla(
    application_id: ApplicationId, user: CurrentUser, services: ServicesDep
) -> ApplicationSlaPublic:
    """The SLA clocks of the application in working days."""
    return ApplicationSlaPublic.of(services.connections.sla(user, application_id))
