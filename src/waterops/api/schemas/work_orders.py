"""Schemas of ``/work-orders`` and ``/trunk-main``: work orders with their SLA clock, actions
from the dispatch centre and the field, the trunk main's tile and failures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from waterops.api.schemas.common import LongText, RecordId, ShortText
from waterops.model.alarms import Cause
from waterops.model.work_orders import (
    LinkKind,
    Material,
    Priority,
    SlaClock,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
    allowed_actions,
)
from waterops.service.trunk_main import MeterStatus, TrunkMainStatus
from waterops.store.trunk_main_store import TrunkMainFailure
from waterops.store.work_orders_store import WorkOrder, WorkOrderEvent

ElementId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
DiameterMm = Annotated[float, Field(gt=0, lt=10_000, allow_inf_nan=False)]


class MaterialIn(BaseModel):
    """A material used: ``quantity`` in ``unit`` (``m`` of pipe, ``pcs`` of clamps)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[ShortText, StringConstraints(max_length=128)]
    quantity: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
    unit: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9³²/%. -]+$")]

    def model(self) -> Material:
        """The domain value."""
        return Material(self.name, self.quantity, self.unit)


class LinkIn(BaseModel):
    """A record the order is about."""

    model_config = ConfigDict(extra="forbid")

    kind: LinkKind
    target_id: RecordId


class WorkOrderBase(BaseModel):
    """What a work order says."""

    model_config = ConfigDict(extra="forbid")

    kind: WorkOrderKind
    title: ShortText
    priority: Priority = Priority.URGENT
    description: LongText = ""
    node_id: ElementId | None = None
    link_id: ElementId | None = None
    diameter_mm: DiameterMm | None = Field(None, description="nominal diameter of the pipe [mm]")
    location_text: LongText = ""


class WorkOrderCreate(WorkOrderBase):
    """A new order by hand; ``reported_at`` (default now) starts the SLA clock."""

    reported_at: AwareDatetime | None = None
    links: list[LinkIn] = Field(default_factory=list, max_length=20)


class WorkOrderFromRecord(BaseModel):
    """A new order for an alarm, an alarm incident or a complaint (give one; kind for a
    complaint: default ``other``)."""

    model_config = ConfigDict(extra="forbid")

    alarm_id: RecordId | None = None
    incident_id: RecordId | None = None
    complaint_id: RecordId | None = None
    kind: WorkOrderKind | None = None
    title: ShortText | None = None
    diameter_mm: DiameterMm | None = None


class WorkOrderUpdate(BaseModel):
    """An action on the order: ``assign`` (``assignee_id``, ``crew``), ``depart``,
    ``arrive``, ``repair`` (``cause``, ``materials``), ``close`` (``cause`` unless given at
    repair, more ``materials``), ``cancel`` (``note`` = the reason)."""

    model_config = ConfigDict(extra="forbid")

    action: WorkOrderAction
    note: LongText = ""
    assignee_id: RecordId | None = None
    crew: Annotated[LongText, StringConstraints(max_length=64)] = ""
    cause: Cause | None = None
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)


class SlaPublic(BaseModel):
    """The SLA clock at the time of the answer (remaining: negative when overdue)."""

    reported_at: datetime
    on_site_due: datetime
    fixed_due: datetime | None
    on_site_breached: bool
    fixed_breached: bool
    on_site_remaining_s: float | None
    fixed_remaining_s: float | None
    breached: bool

    @classmethod
    def of(cls, c: SlaClock) -> SlaPublic:
        return cls(reported_at=c.reported_at, on_site_due=c.on_site_due, fixed_due=c.fixed_due,
                   on_site_breached=c.on_site_breached, fixed_breached=c.fixed_breached,
                   on_site_remaining_s=c.on_site_remaining_s,
                   fixed_remaining_s=c.fixed_remaining_s, breached=c.breached)


class MaterialPublic(BaseModel):
    name: str
    quantity: float
    unit: str


class LinkPublic(BaseModel):
    kind: LinkKind
    target_id: int


class WorkOrderPublic(WorkOrderBase):
    """A work order as the operations centre and its crew see it."""

    model_config = ConfigDict(extra="ignore")

    id: int
    state: WorkOrderState
    allowed_actions: list[WorkOrderAction]
    created_by: str
    created_at: datetime
    updated_at: datetime
    assignee_id: int | None
    crew: str | None
    assigned_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    repaired_at: datetime | None
    closed_at: datetime | None
    sla_basis: str
    sla: SlaPublic
    cause: str | None
    closure_note: str
    materials: list[MaterialPublic]
    links: list[LinkPublic]

    @classmethod
    def of(cls, o: WorkOrder, sla: SlaClock) -> WorkOrderPublic:
        return cls(
            id=o.id, kind=o.kind, title=o.title, priority=o.priority,
            description=o.description, node_id=o.node_id, link_id=o.link_id,
            diameter_mm=o.diameter_mm, location_text=o.location_text, state=o.state,
            allowed_actions=list(allowed_actions(o.state)), created_by=o.created_by,
            created_at=o.created_at, updated_at=o.updated_at, assignee_id=o.assignee_id,
            crew=o.crew, assigned_at=o.assigned_at, en_route_at=o.en_route_at,
            on_site_at=o.on_site_at, repaired_at=o.repaired_at, closed_at=o.closed_at,
            sla_basis=o.sla_basis, sla=SlaPublic.of(sla), cause=o.cause,
            closure_note=o.closure_note,
            materials=[MaterialPublic(name=m.name, quantity=m.quantity, unit=m.unit)
                       for m in o.materials],
            links=[LinkPublic(kind=k, target_id=t) for k, t in o.links])


class WorkOrderEventPublic(BaseModel):
    """One line of an order's history."""

    at: datetime
    action: str
    state_before: WorkOrderState | None
    state_after: WorkOrderState
    actor: str
    note: str

    @classmethod
    def of(cls, e: WorkOrderEvent) -> WorkOrderEventPublic:
        return cls(at=e.at, action=e.action, state_before=e.state_before,
                   state_after=e.state_after, actor=e.actor, note=e.note)


# -- trunk main ----------------------------------------------------------------------------------


class TrunkMainFailureCreate(BaseModel):
    """A failure of the trunk main to record (it resets the safe-operation counter)."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: AwareDatetime
    description: Annotated[LongText, Field(min_length=1)]
    link_id: ElementId | None = None
    work_order_id: RecordId | None = None


class TrunkMainFailurePublic(BaseModel):
    id: int
    main_id: str
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str
    link_id: str | None
    description: str
    work_order_id: int | None

    @classmethod
    def of(cls, f: TrunkMainFailure) -> TrunkMainFailurePublic:
        return cls(id=f.id, main_id=f.main_id, occurred_at=f.occurred_at,
                   recorded_at=f.recorded_at, recorded_by=f.recorded_by, link_id=f.link_id,
                   description=f.description, work_order_id=f.work_order_id)


class MeterPublic(BaseModel):
    """A meter's latest reading (SI: m³/s, m of head) and whether it is stale."""

    sensor_id: str
    quantity: str
    chainage_m: float | None
    value: float | None
    time: datetime | None
    stale: bool

    @classmethod
    def of(cls, m: MeterStatus) -> MeterPublic:
        return cls(sensor_id=m.sensor_id, quantity=m.quantity, chainage_m=m.chainage_m,
                   value=m.value, time=m.time, stale=m.stale)


class TrunkMainPublic(BaseModel):
    """The trunk main's tile: safe-operation days, volume delivered today (local day) and since
    commissioning [m³] with the time the readings cover [s], last failure, meters."""

    main_id: str
    name: str
    length_m: float
    time: datetime
    safe_operation_days: int
    safe_since: datetime
    last_failure: TrunkMainFailurePublic | None
    volume_today_m3: float
    volume_today_covered_s: float
    volume_total_m3: float
    volume_total_covered_s: float
    meters: list[MeterPublic]

    @classmethod
    def of(cls, s: TrunkMainStatus) -> TrunkMainPublic:
        return cls(main_id=s.main_id, name=s.name, length_m=s.length_m, time=s.time,
                   safe_operation_days=s.safe_days, safe_since=s.safe_since,
                   last_failure=None if s.last_failure is None
                   else TrunkMainFailurePublic.of(s.last_failure),
                   volume_today_m3=s.volume_today.volume_m3,
                   volume_today_covered_s=s.volume_today.covered_s,
                   volume_total_m3=s.volume_total.volume_m3,
                   volume_total_covered_s=s.volume_total.covered_s,
                   meters=[MeterPublic.of(m) for m in s.meters])
