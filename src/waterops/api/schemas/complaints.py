"""Complaints and repair requests (投诉/报修) at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.api.schemas.common import LongText, RecordId
from waterops.model.complaints import (
    Channel,
    ComplaintAction,
    ComplaintCategory,
    ComplaintState,
    allowed_actions,
)
from waterops.service.complaints import time_to_callback_s
from waterops.store.complaints_store import Callback, Complaint, ComplaintEvent

Phone = Annotated[str, Field(max_length=32, pattern=r"^(\+?[0-9][0-9 -]{3,30})?$")]
ElementId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Coordinate = Annotated[float, Field(ge=-1e8, le=1e8, allow_inf_nan=False)]


class ComplaintBase(BaseModel):
    """What a customer tells us (or an agent types in during the call)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.WEB
    category: ComplaintCategory
    description: LongText = ""
    contact_phone: Phone = ""
    location_text: LongText = Field("", description="the address as the customer said it")


class ComplaintCreate(ComplaintBase):
    """A new complaint; where it is: a node, a customer account, or coordinates (the
    network's CRS in metres, or WGS 84 degrees). Nothing given: the caller's registered
    account."""

    node_id: ElementId | None = None
    account_id: ElementId | None = None
    x_m: Coordinate | None = None
    y_m: Coordinate | None = None
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    customer_id: RecordId | None = Field(
        None, description="the customer an agent takes the call for (staff only)")


class ComplaintUpdate(BaseModel):
    """A move of the complaint (a transition of its declared state machine)."""

    model_config = ConfigDict(extra="forbid")

    action: ComplaintAction
    note: LongText = ""


class SurveyCreate(BaseModel):
    """The satisfaction answer after closing: 1 very dissatisfied … 5 very satisfied."""

    model_config = ConfigDict(extra="forbid")

    score: Annotated[int, Field(ge=1, le=5)]
    comment: LongText = ""


class FindingPublic(BaseModel):
    """One fact the diagnosis rests on (``value`` in SI ``unit``)."""

    source: str
    text: str
    text_zh: str
    value: float | None
    unit: str


class ComplaintPublic(ComplaintBase):
    """A complaint as its customer and staff see it (``diagnosis_s``, ``time_to_callback_s``
    in [s])."""

    id: int
    customer_id: int | None
    state: ComplaintState
    allowed_actions: list[ComplaintAction]
    account_id: str | None
    node_id: str | None
    pump_room_id: str | None
    dma_id: str | None
    received_at: datetime
    updated_at: datetime
    diagnosis: str
    diagnosis_zh: str
    diagnosis_s: float | None
    findings: list[FindingPublic]
    cause_key: str | None
    alarm_incident_id: int | None
    group_lead_id: int | None
    callback_due_at: datetime | None
    callback_done_at: datetime | None
    time_to_callback_s: float | None
    satisfaction_score: int | None
    closed_at: datetime | None

    @classmethod
    def of(cls, c: Complaint) -> ComplaintPublic:
        """The public view of a stored complaint."""
        return cls(
            id=c.id, customer_id=c.customer_id, channel=c.channel, category=c.category,
            description=c.description, contact_phone=c.contact_phone,
            location_text=c.location_text, state=c.state,
            allowed_actions=list(allowed_actions(c.state)), account_id=c.account_id,
            node_id=c.node_id, pump_room_id=c.pump_room_id, dma_id=c.dma_id,
            received_at=c.received_at, updated_at=c.updated_at, diagnosis=c.diagnosis_en,
            diagnosis_zh=c.diagnosis_zh, diagnosis_s=c.diagnosis_s,
            findings=[FindingPublic(source=f.source, text=f.text, text_zh=f.text_zh,
                                    value=f.value, unit=f.unit) for f in c.findings],
            cause_key=c.cause_key, alarm_incident_id=c.alarm_incident_id,
            group_lead_id=c.group_lead_id,
            callback_due_at=None if c.callback is None else c.callback.due_at,
            callback_done_at=None if c.callback is None else c.callback.done_at,
            time_to_callback_s=time_to_callback_s(c),
            satisfaction_score=None if c.survey is None else c.survey.score,
            closed_at=c.closed_at,
        )


class ComplaintEventPublic(BaseModel):
    """One line of a complaint's history."""

    at: datetime
    action: str
    state_before: ComplaintState | None
    state_after: ComplaintState
    actor: str
    note: str

    @classmethod
    def of(cls, e: ComplaintEvent) -> ComplaintEventPublic:
        """The public view of a history line."""
        return cls(at=e.at, action=e.action, state_before=e.state_before,
                   state_after=e.state_after, actor=e.actor, note=e.note)


class ComplaintGroupPublic(BaseModel):
    """The complaints that share one cause (the first is the group's lead)."""

    lead_id: int
    complaint_ids: list[int]


class CallbackPublic(BaseModel):
    """A callback an agent owes a customer."""

    complaint_id: int
    due_at: datetime
    overdue: bool

    @classmethod
    def of(cls, c: Callback, now: datetime) -> CallbackPublic:
        """The public view of a callback task read at ``now``."""
        return cls(complaint_id=c.complaint_id, due_at=c.due_at, overdue=c.due_at < now)
