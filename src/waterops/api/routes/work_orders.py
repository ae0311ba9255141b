"""``/work-orders``: field work orders (工单) — create (by hand, from an alarm or complaint),
assign, status from the field, repair, close, cancel, link; with their SLA clock.

The service is built on first use over the application's database (:func:`field_work`); a
test may set ``app.state.field_work`` before the first request. A field crew sees and moves
only its own orders (others' are 404); customers are refused (403).
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page, RecordId
from waterops.api.schemas.work_orders import (
    LinkIn,
    WorkOrderCreate,
    WorkOrderEventPublic,
    WorkOrderFromRecord,
    WorkOrderPublic,
    WorkOrderUpdate,
)
from waterops.errors import PermissionDeniedError, WorkOrderError
from waterops.model.accounts import User
from waterops.model.work_orders import (
    OPEN_STATES,
    LinkKind,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
)
from waterops.service.work_orders import WorkOrderDraft, WorkOrderService
from waterops.store.work_orders_store import WorkOrder, WorkOrderFilter

router = APIRouter(prefix="/work-orders", tags=["work orders"])

OrderId = Annotated[RecordId, Path(description="work order id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}
_BUILD_LOCK = threading.Lock()


def field_work(request: Request, services: ServicesDep) -> WorkOrderService:
    """The application's work-order service (built once, on first use)."""
    svc: WorkOrderService | None = getattr(request.app.state, "field_work", None)
    if svc is not None:
        return svc
    with _BUILD_LOCK:
        svc = getattr(request.app.state, "field_work", None)
        if svc is None:
            svc = WorkOrderService(services.accounts.engine, clock=services.auth.clock)
            request.app.state.field_work = svc
    return svc


WorkDep = Annotated[WorkOrderService, Depends(field_work)]


def _staff_only(user: User) -> None:
    """403 for a customer before any check of the body (the service checks the exact role)."""
    if not user.is_staff:
        raise PermissionDeniedError(user.username, "work orders", "work orders")


def _public(svc: WorkOrderService, order: WorkOrder) -> WorkOrderPublic:
    return WorkOrderPublic.of(order, svc.sla(order))


@router.post("", status_code=201, responses={**_ERRORS, 422: {}})
def create(body: WorkOrderCreate, user: CurrentUser, svc: WorkDep) -> WorkOrderPublic:
    """A new order by hand (dispatcher, service agent, quality engineer)."""
    order = svc.create(user, WorkOrderDraft(
        kind=body.kind, title=body.title, priority=body.priority, description=body.description,
        node_id=body.node_id, link_id=body.link_id, diameter_mm=body.diameter_mm,
        location_text=body.location_text, reported_at=body.reported_at,
        links=tuple((link.kind, link.target_id) for link in body.links)))
    return _public(svc, order)


@router.post("/from-record", status_code=201, responses={**_ERRORS, 422: {}})
def create_from(body: WorkOrderFromRecord, user: CurrentUser, svc: WorkDep) -> WorkOrderPublic:
    """A new order for an alarm or an incident (kind, priority and SLA start from it) or a
    complaint."""
    _staff_only(user)  # the role before the shape of the body: a customer learns nothing more
    given = [i for i in (body.alarm_id, body.incident_id, body.complaint_id) if i is not None]
    if len(given) != 1:
        raise WorkOrderError("give exactly one of alarm_id, incident_id and complaint_id")
    if body.alarm_id is not None:
        order = svc.create_from_alarm(user, body.alarm_id, title=body.title,
                                      diameter_mm=body.diameter_mm)
    elif body.incident_id is not None:
        order = svc.create_from_incident(user, body.incident_id, title=body.title,
                                         diameter_mm=body.diameter_mm)
    else:
        assert body.complaint_id is not None
        order = svc.create_from_complaint(user, body.complaint_id,
                                          kind=body.kind or WorkOrderKind.OTHER,
                                          title=body.title)
    return _public(svc, order)


@router.get("", responses=_ERRORS)
def list_orders(
    user: CurrentUser, page: PageParams, svc: WorkDep,
    state: Annotated[WorkOrderState | None, Query(description="only in this state")] = None,
    open_only: Annotated[bool, Query(alias="open", description="only orders not closed or "
                                     "cancelled")] = False,
    kind: Annotated[WorkOrderKind | None, Query(description="only of this kind")] = None,
    assignee_id: Annotated[RecordId | None, Query(description="only this crew's")] = None,
    link_kind: Annotated[LinkKind | None, Query(description="linked to a record of this "
                                                "kind …")] = None,
    link_id: Annotated[RecordId | None, Query(description="… with this id")] = None,
    breached: Annotated[bool | None, Query(description="only (not) breaching their SLA "
                                           "now")] = None,
) -> Page[WorkOrderPublic]:
    """Orders newest first (a crew: its own), with their SLA clock now."""
    link = (link_kind, link_id) if link_kind is not None and link_id is not None else None
    where = WorkOrderFilter(state=state, states=frozenset(OPEN_STATES) if open_only else None,
                            kind=kind, assignee_id=assignee_id, link=link)
    if breached is None:
        items, total = svc.visible(user, where, limit=page.limit, offset=page.offset)
        return Page(items=[_public(svc, o) for o in items], total=total, limit=page.limit,
                    offset=page.offset)
    every, _ = svc.visible(user, where)
    now = svc.clock()
    chosen = [o for o in every if svc.sla(o, now).breached == breached]
    return Page(items=[_public(svc, o) for o in chosen[page.offset:page.offset + page.limit]],
                total=len(chosen), limit=page.limit, offset=page.offset)


@router.get("/{order_id}", responses=_ERRORS)
def get_order(order_id: OrderId, user: CurrentUser, svc: WorkDep) -> WorkOrderPublic:
    """One order (a crew: its own only)."""
    return _public(svc, svc.get(user, order_id))


@router.post("/{order_id}/actions", responses={**_ERRORS, 409: {}, 422: {}})
def act(order_id: OrderId, body: WorkOrderUpdate, user: CurrentUser,
        svc: WorkDep) -> WorkOrderPublic:
    """Move the order. A move its state does not allow is a 409."""
    _staff_only(user)
    a = body.action
    materials = [m.model() for m in body.materials]
    if a is WorkOrderAction.ASSIGN:
        if body.assignee_id is None:
            raise WorkOrderError("assign needs assignee_id (a field crew account)")
        order = svc.assign(user, order_id, body.assignee_id, body.crew, body.note)
    elif a is WorkOrderAction.REPAIR:
        if body.cause is None:
            raise WorkOrderError("repair needs the cause found")
        order = svc.repair(user, order_id, body.cause, materials, body.note)
    elif a is WorkOrderAction.CLOSE:
        order = svc.close(user, order_id, cause=body.cause, materials=materials, note=body.note)
    elif a is WorkOrderAction.CANCEL:
        order = svc.cancel(user, order_id, body.note)
    else:
        order = svc.update_status(user, order_id, a, body.note)
    return _public(svc, order)


@router.post("/{order_id}/links", responses={**_ERRORS, 422: {}})
def link(order_id: OrderId, body: LinkIn, user: CurrentUser, svc: WorkDep) -> WorkOrderPublic:
    """Link the order to an alarm, incident, complaint or outage notice."""
    return _public(svc, svc.link(user, order_id, body.kind, body.target_id))


@router.get("/{order_id}/history", responses=_ERRORS)
def history(order_id: OrderId, user: CurrentUser, page: PageParams,
            svc: WorkDep) -> Page[WorkOrderEventPublic]:
    """The order's history, oldest first."""
    events = svc.history(user, order_id)
    items = events[page.offset:page.offset + page.limit]
    return Page(items=[WorkOrderEventPublic.of(e) for e in items], total=len(events),
                limit=page.limit, offset=page.offset)
