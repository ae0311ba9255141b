"""``/complaints``: complaints and repair requests (投诉/报修) — file, diagnosis, callback,
survey.

The complaint and notice services sit beside the application's :class:`Services`, built on
first use from the same database (:func:`customer_care`): the utility's layout (the demo
utility's, until a utility loads its own), the telemetry, alarm and notice stores, the clock
and the notification port of the application. A test may set ``app.state.customer_care``
before the first request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from waterops.api.deps import CurrentUser, PageParams, ServicesDep
from waterops.api.schemas.common import Page, RecordId
from waterops.api.schemas.complaints import (
    CallbackPublic,
    ComplaintCreate,
    ComplaintEventPublic,
    ComplaintGroupPublic,
    ComplaintPublic,
    ComplaintUpdate,
    SurveyCreate,
)
from waterops.io.inp import read_inp
from waterops.model.complaints import ComplaintState
from waterops.service.complaints import ComplaintForm, ComplaintService, Diagnoser, NetworkLocator
from waterops.service.notices import NoticeService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.alarms_store import AlarmStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.notices_store import NoticesStore
from waterops.store.telemetry_store import TelemetryStore

router = APIRouter(prefix="/complaints", tags=["complaints and repairs"])

ComplaintId = Annotated[RecordId, Path(description="complaint id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}
_BUILD_LOCK = threading.Lock()


@dataclass
class CustomerCare:
    """The complaint and notice services of one application."""

    complaints: ComplaintService
    notices: NoticeService


def customer_care(request: Request, services: ServicesDep) -> CustomerCare:
    """The application's complaint and notice services (built once, on first use)."""
    care: CustomerCare | None = getattr(request.app.state, "customer_care", None)
    if care is not None:
        return care
    with _BUILD_LOCK:
        care = getattr(request.app.state, "customer_care", None)
        if care is None:
            care = build_customer_care(services)
            request.app.state.customer_care = care
    return care


def build_customer_care(services: ServicesDep) -> CustomerCare:
    """Complaint and notice services over the application's database."""
    engine = services.accounts.engine
    layout = build_demo_utility()
    xy = read_inp(layout.network_file).coordinates
    notices_store = NoticesStore(engine)
    clock = services.auth.clock
    diagnoser = Diagnoser(layout, telemetry=TelemetryStore(engine), alarms=AlarmStore(engine),
                          notices=notices_store)
    complaints = ComplaintService(ComplaintsStore(engine), NetworkLocator(layout, xy), diagnoser,
                                  notices=notices_store, clock=clock,
                                  notifier=services.connections.notifier)
    notices = NoticeService(notices_store, layout, known_nodes=frozenset(map(str, xy.index)),
                            clock=clock)
    return CustomerCare(complaints, notices)


CareDep = Annotated[CustomerCare, Depends(customer_care)]


@router.post("", status_code=201, responses={**_ERRORS, 422: {}})
def file_complaint(body: ComplaintCreate, user: CurrentUser, care: CareDep) -> ComplaintPublic:
    """File a complaint (customer: web or messaging; agent: a phone call). The answer carries
    the automatic diagnosis and the callback due time (2 minutes after arrival)."""
    complaint = care.complaints.file(user, ComplaintForm(
        channel=body.channel, category=body.category, description=body.description,
        contact_phone=body.contact_phone, location_text=body.location_text,
        node_id=body.node_id, account_id=body.account_id, x_m=body.x_m, y_m=body.y_m,
        longitude=body.longitude, latitude=body.latitude, customer_id=body.customer_id))
    return ComplaintPublic.of(complaint)


@router.get("", responses=_ERRORS)
def list_complaints(
    user: CurrentUser, page: PageParams, care: CareDep,
    state: Annotated[ComplaintState | None, Query(description="only in this state")] = None,
) -> Page[ComplaintPublic]:
    """Complaints: a customer's own, or all for staff; newest first."""
    items, total = care.complaints.visible(user, state=state, limit=page.limit,
                                           offset=page.offset)
    return Page(items=[ComplaintPublic.of(c) for c in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/callbacks", responses=_ERRORS)
def callbacks(user: CurrentUser, page: PageParams, care: CareDep) -> Page[CallbackPublic]:
    """Callback tasks not done yet, the most urgent first, overdue ones flagged (agents)."""
    tasks = care.complaints.open_callbacks(user)
    now = care.complaints.clock()
    items = tasks[page.offset:page.offset + page.limit]
    return Page(items=[CallbackPublic.of(t, now) for t in items], total=len(tasks),
                limit=page.limit, offset=page.offset)


@router.get("/{complaint_id}", responses=_ERRORS)
def get_complaint(complaint_id: ComplaintId, user: CurrentUser,
                  care: CareDep) -> ComplaintPublic:
    """One complaint with its diagnosis (a customer's own only)."""
    return ComplaintPublic.of(care.complaints.get(user, complaint_id))


@router.post("/{complaint_id}/actions", responses={**_ERRORS, 409: {}})
def act(complaint_id: ComplaintId, body: ComplaintUpdate, user: CurrentUser,
        care: CareDep) -> ComplaintPublic:
    """Move the complaint: staff log the callback, close, escalate, re-diagnose; a customer
    reopens their own. A move its state does not allow is a 409."""
    return ComplaintPublic.of(care.complaints.act(user, complaint_id, body.action, body.note))


@router.post("/{complaint_id}/survey", responses={**_ERRORS, 409: {}})
def survey(complaint_id: ComplaintId, body: SurveyCreate, user: CurrentUser,
           care: CareDep) -> ComplaintPublic:
    """The satisfaction survey after closing (once)."""
    return ComplaintPublic.of(care.complaints.survey(user, complaint_id, body.score,
                                                     body.comment))


@router.get("/{complaint_id}/history", responses=_ERRORS)
def history(complaint_id: ComplaintId, user: CurrentUser, page: PageParams,
            care: CareDep) -> Page[ComplaintEventPublic]:
    """The complaint's history, oldest first."""
    events = care.complaints.history(user, complaint_id)
    items = events[page.offset:page.offset + page.limit]
    return Page(items=[ComplaintEventPublic.of(e) for e in items], total=len(events),
                limit=page.limit, offset=page.offset)


@router.get("/{complaint_id}/group", responses=_ERRORS)
def group(complaint_id: ComplaintId, user: CurrentUser, care: CareDep) -> ComplaintGroupPublic:
    """The complaints sharing this one's cause (staff)."""
    ids = care.complaints.group(user, complaint_id)
    return ComplaintGroupPublic(lead_id=ids[0], complaint_ids=ids)
