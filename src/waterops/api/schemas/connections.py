"""Connection applications (用水报装) at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.api.schemas.common import LongText, RecordId, ShortText
from waterops.model.connections import ConnectionAction, ConnectionState, TemplateName
from waterops.model.workdays import SlaState, SlaStatus
from waterops.service.connections import STATE_TITLES, ApplicationSla, StageClock
from waterops.store.connections_store import ConnectionApplication, TimelineEntry

Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9][0-9 -]{3,30}$")]
MeterSizeMm = Annotated[int, Field(ge=15, le=300, description="nominal meter size DN [mm]")]


class ConnectionApplicationBase(BaseModel):
    """What the applicant fills in online."""

    model_config = ConfigDict(extra="forbid")

    template: TemplateName = TemplateName.STANDARD
    address: ShortText
    contact_phone: Phone
    meter_size_mm: MeterSizeMm = 15
    external_works: bool = False
    park_id: ShortText | None = None


class ConnectionApplicationCreate(ConnectionApplicationBase):
    """Step 1 of the applicant: the form and the id of the one uploaded document."""

    document_id: RecordId


class ConnectionApplicationUpdate(BaseModel):
    """A move of the application (a transition of its declared state machine)."""

    model_config = ConfigDict(extra="forbid")

    action: ConnectionAction
    note: LongText = ""


class ConnectionApplicationPublic(ConnectionApplicationBase):
    """An application as its applicant and staff see it."""

    id: int
    applicant_id: int
    document_id: int
    state: ConnectionState
    state_title: str
    paused_from: ConnectionState | None
    created_at: datetime
    updated_at: datetime
    water_on_at: datetime | None

    @classmethod
    def of(cls, app: ConnectionApplication) -> ConnectionApplicationPublic:
        """The public view of ``app``."""
        return cls(
            id=app.id,
            applicant_id=app.applicant_id,
            template=app.template,
            address=app.address,
            contact_phone=app.contact_phone,
            meter_size_mm=app.meter_size_mm,
            external_works=app.external_works,
            park_id=app.park_id,
            document_id=app.document_id,
            state=app.state,
            state_title=STATE_TITLES[app.state],
            paused_from=app.paused_from,
            created_at=app.created_at,
            updated_at=app.updated_at,
            water_on_at=app.water_on_at,
        )


class TimelineEntryPublic(BaseModel):
    """One line of the live timeline."""

    at: datetime
    action: str
    state_before: ConnectionState | None
    state_after: ConnectionState
    title: str
    note: str

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryPublic:
        """The public view of ``entry``."""
        return cls(
            at=entry.at,
            action=entry.action,
            state_before=entry.state_before,
            state_after=entry.state_after,
            title=STATE_TITLES[entry.state_after],
            note=entry.note,
        )


class SlaStatusPublic(BaseModel):
    """One SLA clock (working days)."""

    budget_days: float
    used_days: float
    remaining_days: float
    due_at: datetime | None
    state: SlaState
    paused: bool

    @classmethod
    def of(cls, status: SlaStatus) -> SlaStatusPublic:
        """The public view of ``status``."""
        return cls(
            budget_days=status.budget_days,
            used_days=round(status.used_days, 4),
            remaining_days=round(status.remaining_days, 4),
            due_at=status.due_at,
            state=status.state,
            paused=status.paused,
        )


class StageClockPublic(BaseModel):
    """The clock of one stage."""

    stage: ConnectionState
    started_at: datetime
    status: SlaStatusPublic

    @classmethod
    def of(cls, clock: StageClock) -> StageClockPublic:
        """The public view of ``clock``."""
        return cls(
            stage=clock.stage, started_at=clock.started_at, status=SlaStatusPublic.of(clock.status)
        )


class ApplicationSlaPublic(BaseModel):
    """Every clock of one application."""

    application_id: int
    state: ConnectionState
    breached: bool
    warning: bool
    end_to_end: SlaStatusPublic
    stages: list[StageClockPublic]

    @classmethod
    def of(cls, sla: ApplicationSla) -> ApplicationSlaPublic:
        """The public view of ``sla``."""
        return cls(
            application_id=sla.application.id,
            state=sla.application.state,
            breached=sla.breached,
            warning=sla.warning,
            end_to_end=SlaStatusPublic.of(sla.end_to_end),
            stages=[StageClockPublic.of(c) for c in sla.stages],
        )
