"""Outage notices (停水通知) at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from waterops.api.schemas.common import ShortText
from waterops.model.notices import NoticeKind
from waterops.store.notices_store import Contact, Notice, OutboxMessage

ElementId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("give the time zone (e.g. +08:00 or Z)")
    return when


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class NoticeBase(BaseModel):
    """What a notice announces."""

    model_config = ConfigDict(extra="forbid")

    kind: NoticeKind
    area: ShortText = Field(description="the area as customers know it (road, community)")
    reason: ShortText
    starts_at: AwareTime
    ends_at: AwareTime


class NoticeCreate(NoticeBase):
    """A notice to issue: the nodes and/or whole DMAs that lose water."""

    nodes: Annotated[list[ElementId], Field(max_length=5000)] = []
    dmas: Annotated[list[ElementId], Field(max_length=100)] = []


class NoticePublic(NoticeBase):
    """A notice as customers and staff see it (times UTC)."""

    id: int
    issued_at: datetime
    issued_by: str
    node_count: int
    target_count: int
    subject: str
    body: str
    body_zh: str

    @classmethod
    def of(cls, n: Notice) -> NoticePublic:
        """The public view of a stored notice."""
        return cls(id=n.id, kind=n.kind, area=n.area, reason=n.reason, starts_at=n.starts_at,
                   ends_at=n.ends_at, issued_at=n.issued_at, issued_by=n.issued_by,
                   node_count=len(n.nodes), target_count=n.target_count, subject=n.subject,
                   body=n.body_en, body_zh=n.body_zh)


class OutboxMessagePublic(BaseModel):
    """Where one message of a notice is (staff)."""

    id: int
    channel: str
    address: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str

    @classmethod
    def of(cls, m: OutboxMessage) -> OutboxMessagePublic:
        """The public view of an outbox message."""
        return cls(id=m.id, channel=m.channel, address=m.address, attempts=m.attempts,
                   next_attempt_at=m.next_attempt_at, sent_at=m.sent_at, failed_at=m.failed_at,
                   last_error=m.last_error)


Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9][0-9 -]{3,30}$")]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class ContactCreate(BaseModel):
    """How to reach the holder of a customer account (registered by an agent)."""

    model_config = ConfigDict(extra="forbid")

    account_id: ElementId
    customer_id: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    email: Email | None = None
    phone: Phone | None = None


class ContactPublic(ContactCreate):
    """A registered contact with the network node of its account."""

    node_id: str

    @classmethod
    def of(cls, c: Contact) -> ContactPublic:
        """The public view of a contact."""
        return cls(account_id=c.account_id, customer_id=c.user_id, email=c.email,
                   phone=c.phone, node_id=c.node_id)
