"""Alarms (告警), incidents (their grouping) and injected incidents at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.api.schemas.common import LongText, ShortText
from waterops.model.alarms import AlarmState, Cause, IncidentState, Severity
from waterops.model.utility import IncidentType

ElementId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class EvidencePublic(BaseModel):
    """A reading that supports an alarm (SI value and unit)."""

    sensor_id: str
    quantity: str
    value: float | None
    unit: str
    time: datetime
    note: str


class AlarmBase(BaseModel):
    """What an alarm is about."""

    kind: str = Field(description="detector family, e.g. quality_limit, pump_room, burst")
    source: str = Field(description="sensor, pump room or DMA it is about")
    condition: str
    severity: Severity
    message: str
    message_zh: str


class AlarmPublic(AlarmBase):
    """An alarm as staff see it."""

    id: int
    state: AlarmState
    raised_at: datetime
    updated_at: datetime
    group_key: str
    incident_id: int | None
    value: float | None = Field(description="latest value [unit]")
    worst_value: float | None
    unit: str
    diagnosis: str | None
    evidence: list[EvidencePublic]
    cleared_at: datetime | None
    resolved_at: datetime | None
    acknowledged_by: str | None
    assignee: str | None
    resolved_by: str | None
    cause: Cause | None
    note: str
    count: int = Field(description="times its condition was reported")
    allowed_actions: list[str] = Field(description="operator actions its state allows now")


class AlarmAcknowledge(BaseModel):
    """Acknowledge: the operator has seen it."""

    model_config = ConfigDict(extra="forbid")

    note: LongText = ""


class AlarmAssign(BaseModel):
    """Assign (or hand over) to a person or crew."""

    model_config = ConfigDict(extra="forbid")

    assignee: ShortText
    note: LongText = ""


class AlarmResolve(BaseModel):
    """Resolve with its cause."""

    model_config = ConfigDict(extra="forbid")

    cause: Cause
    note: LongText = ""


class IncidentPublic(BaseModel):
    """Alarms grouped by cause (the alarm service's incident)."""

    id: int
    group_key: str
    title: str
    severity: Severity
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    cause: Cause | None
    alarm_ids: list[int]


class InjectedIncidentBase(BaseModel):
    """An incident of the demo simulator: type, element and size."""

    type: IncidentType
    element: ElementId = Field(description="node, link or sensor id it happens to")
    size: float | None = Field(
        None, allow_inf_nan=False, ge=0,
        description="size in the type's unit (pipe_burst: opening [m²]; default: the type's)")


class InjectedIncidentCreate(InjectedIncidentBase):
    """Start an incident in the running demo simulator (at its next step)."""

    model_config = ConfigDict(extra="forbid")

    duration_s: float | None = Field(None, gt=0, le=30 * 86400, allow_inf_nan=False,
                                     description="how long it lasts [s] (default: until ended)")


class InjectedIncidentPublic(InjectedIncidentBase):
    """Ground truth of an injected or random incident."""

    id: str
    size: float | None
    size_unit: str
    start: datetime
    end: datetime | None
    active: bool
    parameters: dict[str, str]
