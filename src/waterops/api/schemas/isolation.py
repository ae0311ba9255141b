"""Valve isolation plans, close-a-link scenarios and their outage notices at the HTTP edge.

Flows are given in m³/d and L/s (what dispatchers read), pressures in m of water head.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from waterops.api.schemas.common import ShortText
from waterops.api.schemas.notices import AwareTime, ElementId
from waterops.emergency.closure import ClosureEffect
from waterops.model.notices import NoticeKind
from waterops.model.utility import CriticalUser
from waterops.service.isolation import ClosureReport, NoticeDraft, PlanReport

SECONDS_PER_DAY = 86400.0
MAX_MAP_NODES = 5000
"""Most per-node pressure changes one answer carries (the demo network has 3,473 nodes)."""


class PlanCreate(BaseModel):
    """What to isolate: a pipe (a burst) or a node, and whether to simulate the closure."""

    model_config = ConfigDict(extra="forbid")

    pipe_id: ElementId | None = None
    node_id: ElementId | None = None
    with_hydraulics: bool = Field(False, description="run the closure with pressure-driven "
                                                     "demand (about 1 s on the demo network)")
    failed_valves: Annotated[list[ElementId], Field(max_length=100)] = Field(
        default=[], description="valve ids that will not close (the plan reaches past them)")

    @model_validator(mode="after")
    def _one_target(self) -> PlanCreate:
        if (self.pipe_id is None) == (self.node_id is None):
            raise ValueError("give exactly one of pipe_id and node_id")
        return self


class ValvePublic(BaseModel):
    """An isolation valve: on ``link_id`` next to ``node_id``."""

    valve_id: str
    link_id: str
    node_id: str


class CriticalUserPublic(BaseModel):
    """A hospital, school … that loses water."""

    id: str
    kind: str
    name: str
    node_id: str


class NodePressure(BaseModel):
    """A junction's lowest pressure over the run [m]."""

    node_id: str
    pressure_m: float


class HydraulicsPublic(BaseModel):
    """The simulated effect of the closure against the base run."""

    duration_s: int
    threshold_m: float = Field(description="service pressure threshold [m]")
    unsupplied_m3: float = Field(description="demand not delivered over the run [m³]")
    unsupplied_m3d: float = Field(description="its mean rate [m³/d]")
    unsupplied_ls: float = Field(description="its mean rate [L/s]")
    newly_low_nodes: list[str] = Field(description="junctions falling below the threshold")
    emitter_outflow_change_m3: float = Field(
        description="change of water lost through leaks and bursts over the run [m³]")
    lowest_pressures: list[NodePressure] = Field(description="the 10 lowest junctions")
    pressure_drop_m: dict[str, float] = Field(
        description="junction -> largest pressure fall [m], for colouring the map "
                    "(junctions falling by 0.1 m or more)")

    @classmethod
    def of(cls, e: ClosureEffect) -> HydraulicsPublic:
        """The public view of a closure effect."""
        drops = sorted(e.drops(0.1).items(), key=lambda kv: -kv[1])[:MAX_MAP_NODES]
        return cls(duration_s=e.duration_s, threshold_m=e.threshold_m,
                   unsupplied_m3=e.unsupplied_m3, unsupplied_m3d=e.unsupplied_m3s * SECONDS_PER_DAY,
                   unsupplied_ls=e.unsupplied_m3s * 1000.0, newly_low_nodes=list(e.newly_low),
                   emitter_outflow_change_m3=e.emitter_outflow_change_m3,
                   lowest_pressures=[NodePressure(node_id=n, pressure_m=p)
                                     for n, p in e.lowest(10)],
                   pressure_drop_m={n: round(d, 3) for n, d in drops})


class PlanPublic(BaseModel):
    """An isolation plan: what to close, what loses water, what it costs."""

    target_kind: Literal["link", "node"]
    target_id: str
    segment: int
    valves_to_close: list[ValvePublic]
    segment_nodes: list[str]
    segment_links: list[str]
    unintended_nodes: list[str] = Field(description="cut off from every source besides the "
                                                    "segment")
    unintended_links: list[str]
    customers_by_kind: dict[str, int]
    customer_count: int
    critical_users: list[CriticalUserPublic]
    supply_lost_m3d: float = Field(description="base demand of the nodes losing water [m³/d]")
    supply_lost_ls: float = Field(description="the same [L/s]")
    failed_valves: list[str]
    hydraulics: HydraulicsPublic | None = None

    @classmethod
    def of(cls, report: PlanReport) -> PlanPublic:
        """The public view of a plan report."""
        p = report.plan
        return cls(
            target_kind="link" if p.target_kind == "link" else "node", target_id=p.target_id,
            segment=p.segment,
            valves_to_close=[ValvePublic(valve_id=v.valve_id, link_id=v.link_id,
                                         node_id=v.node_id) for v in p.valves_to_close],
            segment_nodes=list(p.isolated_nodes), segment_links=list(p.isolated_links),
            unintended_nodes=list(p.unintended_nodes), unintended_links=list(p.unintended_links),
            customers_by_kind=p.customers_by_kind, customer_count=len(p.customers),
            critical_users=[_critical(u) for u in p.critical_users],
            supply_lost_m3d=p.demand_lost_m3d, supply_lost_ls=p.demand_lost_ls,
            failed_valves=list(p.failed_valves),
            hydraulics=HydraulicsPublic.of(report.effect) if report.effect else None)


def _critical(u: CriticalUser) -> CriticalUserPublic:
    return CriticalUserPublic(id=u.id, kind=str(u.kind), name=u.name, node_id=u.node)


class ClosureCreate(BaseModel):
    """Links to close (pipes, pumps, valves of the model)."""

    model_config = ConfigDict(extra="forbid")

    link_ids: Annotated[list[ElementId], Field(min_length=1, max_length=500)]


class ClosurePublic(BaseModel):
    """Who loses water and where pressure falls when the links are closed."""

    closed_links: list[str]
    cut_off_nodes: list[str] = Field(description="nodes no source reaches any more")
    customers_by_kind: dict[str, int]
    customer_count: int
    critical_users: list[CriticalUserPublic]
    demand_cut_off_m3d: float
    demand_cut_off_ls: float
    hydraulics: HydraulicsPublic

    @classmethod
    def of(cls, r: ClosureReport) -> ClosurePublic:
        """The public view of a closure report."""
        return cls(closed_links=list(r.closed_links), cut_off_nodes=list(r.cut_off_nodes),
                   customers_by_kind=r.customers_by_kind, customer_count=len(r.customers),
                   critical_users=[_critical(u) for u in r.critical_users],
                   demand_cut_off_m3d=r.demand_cut_off_m3s * SECONDS_PER_DAY,
                   demand_cut_off_ls=r.demand_cut_off_m3s * 1000.0,
                   hydraulics=HydraulicsPublic.of(r.effect))


class PlanNoticeCreate(BaseModel):
    """The outage notice of a plan: a draft, or issued at once (``issue``, dispatchers)."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["pipe", "node"] = "pipe"
    kind: NoticeKind = NoticeKind.UNPLANNED
    starts_at: AwareTime | None = None
    ends_at: AwareTime | None = None
    reason: ShortText | None = None
    area: ShortText | None = None
    failed_valves: Annotated[list[ElementId], Field(max_length=100)] = []
    issue: bool = False


class PlanNoticePublic(BaseModel):
    """A notice draft (``notice_id`` set once issued)."""

    kind: NoticeKind
    area: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    nodes: list[str]
    subject: str
    body: str
    body_zh: str
    customer_count: int
    critical_users: list[CriticalUserPublic]
    problems: list[str] = Field(description="rules the notice breaks now (empty: it can be "
                                            "issued)")
    notice_id: int | None = None

    @classmethod
    def of(cls, d: NoticeDraft, notice_id: int | None = None) -> PlanNoticePublic:
        """The public view of a draft."""
        r = d.request
        return cls(kind=r.kind, area=r.area, reason=r.reason, starts_at=r.starts_at,
                   ends_at=r.ends_at, nodes=list(r.nodes), subject=d.subject, body=d.body_en,
                   body_zh=d.body_zh, customer_count=d.customers,
                   critical_users=[_critical(u) for u in d.critical_users],
                   problems=list(d.problems), notice_id=notice_id)
