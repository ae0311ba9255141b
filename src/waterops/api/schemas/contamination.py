"""Contamination spread, source tracing, do-not-drink notices and source switching at the HTTP
edge. Times since the injection (or the model start) in s, concentrations in mg/L, volumes in
m³, flows in L/s (what crews read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from waterops.api.schemas.common import ShortText
from waterops.api.schemas.notices import AwareTime, ElementId
from waterops.emergency.contamination import DEFAULT_THRESHOLD_MG_L, Injection
from waterops.emergency.sources import SourceStatus, SwitchPlan
from waterops.service.contamination import DoNotDrinkDraft, SpreadReport, TraceReport

MAX_NODES = 1000
"""Most nodes listed in one spread answer (the count is always given)."""
MAX_STEPS = 200
"""Most flushing steps listed in one answer."""
MAX_CANDIDATES = 50
"""Most tracing candidates listed in one answer."""
MAX_HTTP_MEMBERS = 50
"""Most demand scenarios one HTTP tracing request runs (more: the CLI or a Dask cluster)."""

Concentration = Annotated[float, Field(gt=0, le=1e6)]


class SpreadCreate(BaseModel):
    """An injection: where, when (model time: s since midnight of the patterns), how long,
    how strong (a set-point concentration or a mass rate), and how long to follow it."""

    model_config = ConfigDict(extra="forbid")

    node_id: ElementId
    start_s: int = Field(0, ge=0, le=7 * 86_400)
    duration_s: int | None = Field(None, gt=0, le=7 * 86_400)
    concentration_mg_l: Concentration | None = None
    mass_rate_mg_s: Concentration | None = None
    horizon_h: float = Field(24.0, gt=0, le=168)
    threshold_mg_l: Concentration = DEFAULT_THRESHOLD_MG_L

    @model_validator(mode="after")
    def _one_strength(self) -> SpreadCreate:
        if (self.concentration_mg_l is None) == (self.mass_rate_mg_s is None):
            raise ValueError("give exactly one of concentration_mg_l and mass_rate_mg_s")
        return self

    def injection(self) -> Injection:
        """The injection this asks for."""
        return Injection(self.node_id, self.start_s, self.duration_s, self.concentration_mg_l,
                         self.mass_rate_mg_s)


class ExposurePublic(BaseModel):
    """What the contamination reaches within ``within_h`` hours of its start."""

    within_h: float
    nodes: int
    customers: int
    households: int
    enterprises: int


class NodeImpactPublic(BaseModel):
    """How it reaches one node (times after the injection started)."""

    node_id: str
    first_arrival_s: float
    peak_mg_l: float
    peak_time_s: float


class AreaPublic(BaseModel):
    """The do-not-drink area: nodes above the threshold and their customers."""

    threshold_mg_l: float
    nodes: list[str]
    accounts: int
    households: int
    enterprises: int
    dmas: list[str]


class FlushingStepPublic(BaseModel):
    """One hydrant of the flushing plan, in opening order."""

    order: int
    hydrant_id: str
    node_id: str
    pipes: list[str]
    volume_m3: float
    flow_ls: float
    duration_s: float


class SpreadPublic(BaseModel):
    """The spread of an injection."""

    node_id: str
    horizon_s: int
    threshold_mg_l: float
    exposure: list[ExposurePublic]
    nodes_reached: int
    nodes: list[NodeImpactPublic] = Field(description=f"earliest first, at most {MAX_NODES}")
    area: AreaPublic
    flushing: list[FlushingStepPublic] = Field(description=f"at most {MAX_STEPS}")

    @classmethod
    def of(cls, r: SpreadReport) -> SpreadPublic:
        a = r.area
        return cls(
            node_id=r.injection.node_id, horizon_s=r.horizon_s, threshold_mg_l=r.threshold_mg_l,
            exposure=[ExposurePublic(within_h=e.within_h, nodes=e.nodes, customers=e.customers,
                                     households=e.households, enterprises=e.enterprises)
                      for e in r.exposure],
            nodes_reached=len(r.nodes),
            nodes=[NodeImpactPublic(node_id=n.node_id, first_arrival_s=n.first_arrival_s,
                                    peak_mg_l=n.peak_mg_l, peak_time_s=n.peak_time_s)
                   for n in r.nodes[:MAX_NODES]],
            area=AreaPublic(threshold_mg_l=a.threshold_mg_l, nodes=list(a.nodes),
                            accounts=len(a.accounts), households=a.households,
                            enterprises=a.enterprises, dmas=list(a.dmas)),
            flushing=[FlushingStepPublic(order=s.order, hydrant_id=s.hydrant_id,
                                         node_id=s.node_id, pipes=list(s.pipes),
                                         volume_m3=s.volume_m3, flow_ls=s.flow_m3s * 1000,
                                         duration_s=s.duration_s)
                      for s in r.flushing[:MAX_STEPS]])


class DoNotDrinkCreate(BaseModel):
    """A do-not-drink notice from a spread: drafted, and issued if ``issue``."""

    model_config = ConfigDict(extra="forbid")

    spread: SpreadCreate
    substance: ShortText = "a contaminant"
    starts_at: AwareTime | None = None
    issue: bool = False


class DoNotDrinkPublic(BaseModel):
    """The notice draft (and the notice's id once issued)."""

    subject: str
    body_en: str
    body_zh: str
    area: str
    starts_at: datetime
    nodes: int
    accounts: int
    households: int
    notice_id: int | None = None

    @classmethod
    def of(cls, d: DoNotDrinkDraft, notice_id: int | None = None) -> DoNotDrinkPublic:
        return cls(subject=d.subject, body_en=d.body_en, body_zh=d.body_zh, area=d.area_text,
                   starts_at=d.starts_at, nodes=len(d.area.nodes), accounts=len(d.area.accounts),
                   households=d.area.households, notice_id=notice_id)


class ReadingIn(BaseModel):
    """One quality reading of a sensor: concentration above background [mg/L]."""

    model_config = ConfigDict(extra="forbid")

    sensor_id: ElementId
    at: AwareTime
    concentration_mg_l: float = Field(ge=0, le=1e6)


class TraceCreate(BaseModel):
    """Sensor readings (detections and clean readings) to trace back."""

    model_config = ConfigDict(extra="forbid")

    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=5000)]
    threshold_mg_l: Concentration = 0.05
    members: int = Field(10, ge=1, le=MAX_HTTP_MEMBERS)
    noise: float = Field(0.1, ge=0, le=0.5)
    model_start: AwareTime | None = None


class CandidatePublic(BaseModel):
    """A candidate injection point and start."""

    node_id: str
    start_s: int
    start_at: datetime
    consistency: float = Field(description="mean share of readings explained [0-1]")
    members_consistent: float = Field(description="share of scenarios explaining all [0-1]")
    residual: float
    concentration_mg_l: float
    log_likelihood: float = Field(description="mean over the scenarios; higher is better")


class TracePublic(BaseModel):
    """Candidates, best first."""

    model_start: datetime
    readings_used: int
    candidates: list[CandidatePublic]

    @classmethod
    def of(cls, r: TraceReport) -> TracePublic:
        return cls(model_start=r.model_start, readings_used=r.readings_used, candidates=[
            CandidatePublic(node_id=c.node_id, start_s=c.start_s, start_at=r.start_time(c),
                            consistency=c.consistency,
                            members_consistent=c.members_consistent, residual=c.residual,
                            concentration_mg_l=c.concentration_mg_l,
                            log_likelihood=c.log_likelihood)
            for c in r.candidates[:MAX_CANDIDATES]])


ParameterName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]


class SourceReadingsCreate(BaseModel):
    """Latest raw-water values per source: ``{"SRC-RIVER": {"ammonia_n": 0.8}}``."""

    model_config = ConfigDict(extra="forbid")

    readings: Annotated[dict[ElementId, dict[ParameterName, float]],
                        Field(max_length=50)] = {}


class FindingPublic(BaseModel):
    """One parameter of a source, assessed."""

    parameter: str
    value: float
    unit: str
    level: str
    limit: str


class SourceStatusPublic(BaseModel):
    """A source's early-warning level and findings."""

    source_id: str
    level: str
    findings: list[FindingPublic]

    @classmethod
    def of(cls, s: SourceStatus) -> SourceStatusPublic:
        return cls(source_id=s.source_id, level=s.level.value, findings=[
            FindingPublic(parameter=f.parameter, value=f.value, unit=f.unit,
                          level=f.level.value, limit=f.limit) for f in s.findings])


class SwitchPlanCreate(BaseModel):
    """The source that failed (or is polluted), optionally the backup, and the horizon."""

    model_config = ConfigDict(extra="forbid")

    failed_source_id: ElementId
    backup_source_id: ElementId | None = None
    horizon_h: float = Field(48.0, gt=0, le=168)


class ZoneSwitchPublic(BaseModel):
    """How one zone fares when the source is switched."""

    zone_id: str
    share_before: float
    share_after: float
    changes_source: bool
    takes_effect_after_s: int | None
    min_pressure_before_m: float
    min_pressure_after_m: float
    chlorine_after_mg_l: float | None


class SwitchPlanPublic(BaseModel):
    """The switch plan."""

    failed_source: str
    backup_source: str
    actions: list[str]
    horizon_s: int
    zones: list[ZoneSwitchPublic]
    lowest_pressure_after_m: float
    lowest_pressure_node: str
    warnings: list[str]

    @classmethod
    def of(cls, p: SwitchPlan) -> SwitchPlanPublic:
        return cls(failed_source=p.failed_source, backup_source=p.backup_source,
                   actions=list(p.actions), horizon_s=p.horizon_s, zones=[
                       ZoneSwitchPublic(
                           zone_id=z.zone_id, share_before=z.share_before,
                           share_after=z.share_after, changes_source=z.changes_source,
                           takes_effect_after_s=z.takes_effect_after_s,
                           min_pressure_before_m=z.min_pressure_before_m,
                           min_pressure_after_m=z.min_pressure_after_m,
                           chlorine_after_mg_l=(None if z.chlorine_after_mg_l
                                                != z.chlorine_after_mg_l
                                                else z.chlorine_after_mg_l))
                       for z in p.zones],
                   lowest_pressure_after_m=p.lowest_pressure_after_m,
                   lowest_pressure_node=p.lowest_pressure_node, warnings=list(p.warnings))
