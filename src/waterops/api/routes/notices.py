"""``/notices``: outage notices (停水通知) — dispatchers issue, customers read theirs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from waterops.api.deps import CurrentUser, PageParams
from waterops.api.routes.complaints import CareDep
from waterops.api.schemas.common import Page, RecordId
from waterops.api.schemas.notices import (
    ContactCreate,
    ContactPublic,
    NoticeCreate,
    NoticePublic,
    OutboxMessagePublic,
)
from waterops.errors import PermissionDeniedError
from waterops.model.complaints import Ability, can
from waterops.service.notices import NoticeRequest

router = APIRouter(prefix="/notices", tags=["outage notices"])

NoticeId = Annotated[RecordId, Path(description="notice id")]
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}}


@router.post("", status_code=201, responses={**_ERRORS, 422: {}})
def issue(body: NoticeCreate, user: CurrentUser, care: CareDep) -> NoticePublic:
    """Issue a notice to the customers of the nodes (or DMAs) named (dispatchers). Refused
    with the rule broken when it comes too late (planned: 24 h ahead, 48 h if over 12 h)."""
    notice = care.notices.issue(user, NoticeRequest(
        body.kind, body.area, body.reason, body.starts_at, body.ends_at, tuple(body.nodes),
        tuple(body.dmas)))
    return NoticePublic.of(notice)


@router.get("", responses=_ERRORS)
def list_notices(user: CurrentUser, page: PageParams, care: CareDep) -> Page[NoticePublic]:
    """Notices: those for a customer's address, or all for staff."""
    items, total = care.notices.visible(user, limit=page.limit, offset=page.offset)
    return Page(items=[NoticePublic.of(n) for n in items], total=total, limit=page.limit,
                offset=page.offset)


@router.post("/contacts", status_code=201, responses={**_ERRORS, 422: {}})
def register_contact(body: ContactCreate, user: CurrentUser, care: CareDep) -> ContactPublic:
    """Link a customer account of the utility to a user and a phone/e-mail (service agents,
    after checking the bill); notices to the account's node then reach them."""
    return ContactPublic.of(care.notices.register_contact(
        user, body.account_id, customer_id=body.customer_id, email=body.email,
        phone=body.phone))


@router.get("/contacts/mine", responses=_ERRORS)
def my_contacts(user: CurrentUser, care: CareDep) -> list[ContactPublic]:
    """The customer accounts registered to the current user."""
    return [ContactPublic.of(c) for c in care.notices.contacts_of(user)]


@router.get("/{notice_id}", responses=_ERRORS)
def get_notice(notice_id: NoticeId, user: CurrentUser, care: CareDep) -> NoticePublic:
    """One notice."""
    return NoticePublic.of(care.notices.get(user, notice_id))


@router.get("/{notice_id}/messages", responses=_ERRORS)
def messages(notice_id: NoticeId, user: CurrentUser, page: PageParams,
             care: CareDep) -> Page[OutboxMessagePublic]:
    """Where each message of the notice is: pending, sent, failed (dispatchers)."""
    if not user.active or not can(user.role, Ability.ISSUE_NOTICES):
        raise PermissionDeniedError(user.username, Ability.ISSUE_NOTICES.value,
                                    f"notice {notice_id}")
    care.notices.get(user, notice_id)
    found = care.notices.store.messages(notice_id=notice_id)
    items = found[page.offset:page.offset + page.limit]
    return Page(items=[OutboxMessagePublic.of(m) for m in items], total=len(found),
                limit=page.limit, offset=page.offset)
