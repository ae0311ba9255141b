"""Enterprise one-to-one service at the HTTP edge: accounts, visits, problems, consumption,
savings advice. Flows in m³/s, volumes in m³, money in yuan.

The advice items and the leak hint carry, beside their English sentence, a message key and its
figures (:class:`waterops.service.enterprise_service.AdviceMessage`) for clients that speak
other languages; each flow figure ``*_m3s`` comes with its twin ``*_ls`` [L/s]."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from waterops.api.schemas.common import LongText, RecordId, ShortText
from waterops.model.enterprises import (
    Enterprise,
    Problem,
    ProblemAction,
    ProblemState,
    ServiceRates,
    Visit,
    allowed_actions,
)
from waterops.service.enterprise_service import (
    AdviceMessage,
    ConsumptionAnalysis,
    DailyVolume,
    PeerComparison,
    SavingsAdvice,
    SavingsItem,
)
from waterops.service.enterprise_service import Figures as ServiceFigures
from waterops.store.enterprises_store import ProblemEvent

AccountId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
SensorId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Score = Annotated[int, Field(ge=1, le=5, description="1 very unsatisfied … 5 very satisfied")]
Figures = Annotated[dict[str, float | str], Field(
    description="the message's figures: SI (flows *_m3s [m³/s], volumes [m³], yuan, shares "
                "[0-1]) and each flow also as *_ls [L/s]; tariff and period names as text")]


def with_people_units(figures: ServiceFigures) -> dict[str, float | str]:
    """The figures of a message, each flow ``*_m3s`` [m³/s] also as ``*_ls`` [L/s]."""
    out = dict(figures)
    for name, value in figures.items():
        if name.endswith("_m3s") and not isinstance(value, str):
            out[name.removesuffix("_m3s") + "_ls"] = value * 1000.0
    return out


class EnterpriseBase(BaseModel):
    """What the account manager records about an enterprise."""

    model_config = ConfigDict(extra="forbid")

    account_id: AccountId
    name: ShortText
    industry: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 ._-]+$")]
    park_id: Annotated[str, Field(min_length=1, max_length=64,
                                  pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    tariff_name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    justified_night_flow_m3s: Annotated[float, Field(
        ge=0, le=10, allow_inf_nan=False, description="night use the enterprise explains [m³/s]"
    )] = 0.0
    employees: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    output_per_day: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] | None = None
    output_unit: Annotated[str, Field(max_length=32, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class EnterpriseCreate(EnterpriseBase):
    """A new enterprise account with its account manager, customer login and meters."""

    manager_id: RecordId | None = None
    customer_user_id: RecordId | None = None
    meter_sensor_ids: Annotated[list[SensorId], Field(max_length=50)] = []


class EnterpriseUpdate(BaseModel):
    """Changes to an enterprise's record (only the fields given change; the account id never)."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    industry: Annotated[str, Field(min_length=1, max_length=64,
                                   pattern=r"^[A-Za-z0-9 ._-]+$")] | None = None
    park_id: Annotated[str, Field(min_length=1, max_length=64,
                                  pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    tariff_name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    manager_id: RecordId | None = None
    customer_user_id: RecordId | None = None
    meter_sensor_ids: Annotated[list[SensorId], Field(max_length=50)] | None = None
    justified_night_flow_m3s: Annotated[
        float, Field(ge=0, le=10, allow_inf_nan=False)] | None = None
    employees: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    output_per_day: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] | None = None
    output_unit: Annotated[str, Field(max_length=32, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None

    def changes(self) -> dict[str, object]:
        """The fields the request sets (an explicit null clears an optional field)."""
        out: dict[str, object] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            out[name] = tuple(value) if isinstance(value, list) else value
        return out


class EnterprisePublic(EnterpriseBase):
    """An enterprise as its customer and staff see it."""

    id: int
    manager_id: int | None
    customer_user_id: int | None
    meter_sensor_ids: list[str]
    created_at: datetime

    @classmethod
    def of(cls, e: Enterprise) -> EnterprisePublic:
        return cls(id=e.id, account_id=e.account_id, name=e.name, industry=e.industry,
                   park_id=e.park_id, tariff_name=e.tariff_name,
                   justified_night_flow_m3s=e.justified_night_flow_m3s, employees=e.employees,
                   output_per_day=e.output_per_day, output_unit=e.output_unit,
                   manager_id=e.manager_id, customer_user_id=e.customer_user_id,
                   meter_sensor_ids=list(e.meter_sensor_ids), created_at=e.created_at)


class ProblemBase(BaseModel):
    """A problem the enterprise raised."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: LongText = ""


class ProblemCreate(ProblemBase):
    """A problem raised outside a visit (or on visit ``visit_id``)."""

    visit_id: RecordId | None = None


class ProblemUpdate(BaseModel):
    """A move of the problem (a transition of its declared state machine)."""

    model_config = ConfigDict(extra="forbid")

    action: ProblemAction
    note: LongText = ""
    satisfaction: Score | None = None


class ProblemRating(BaseModel):
    """The enterprise's rating of a closed problem."""

    model_config = ConfigDict(extra="forbid")

    score: Score


class ProblemPublic(ProblemBase):
    """A problem and where it stands."""

    id: int
    enterprise_id: int
    visit_id: int | None
    raised_by_id: int
    state: ProblemState
    allowed_actions: list[ProblemAction]
    reason: str
    satisfaction: int | None
    raised_at: datetime
    updated_at: datetime
    rectified_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, p: Problem) -> ProblemPublic:
        return cls(id=p.id, enterprise_id=p.enterprise_id, visit_id=p.visit_id,
                   raised_by_id=p.raised_by_id, title=p.title, description=p.description,
                   state=p.state, allowed_actions=list(allowed_actions(p.state)),
                   reason=p.reason, satisfaction=p.satisfaction, raised_at=p.raised_at,
                   updated_at=p.updated_at, rectified_at=p.rectified_at, closed_at=p.closed_at)


class ProblemEventPublic(BaseModel):
    """One line of a problem's history."""

    at: datetime
    action: str
    state_before: ProblemState | None
    state_after: ProblemState
    actor_id: int
    note: str

    @classmethod
    def of(cls, e: ProblemEvent) -> ProblemEventPublic:
        return cls(at=e.at, action=e.action, state_before=e.state_before,
                   state_after=e.state_after, actor_id=e.actor_id, note=e.note)


class ProblemWithHistoryPublic(BaseModel):
    """A problem with its history, oldest first."""

    problem: ProblemPublic
    history: list[ProblemEventPublic]


class VisitBase(BaseModel):
    """A visit of the account manager."""

    model_config = ConfigDict(extra="forbid")

    visited_on: date = Field(description="local date of the visit")
    topics: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    notes: LongText = ""


class VisitCreate(VisitBase):
    """A visit and the problems raised on it."""

    problems: Annotated[list[ProblemBase], Field(max_length=20)] = []


class VisitPublic(VisitBase):
    """A visit as recorded."""

    id: int
    enterprise_id: int
    manager_id: int
    created_at: datetime

    @classmethod
    def of(cls, v: Visit) -> VisitPublic:
        return cls(id=v.id, enterprise_id=v.enterprise_id, manager_id=v.manager_id,
                   visited_on=v.visited_on, topics=list(v.topics), notes=v.notes,
                   created_at=v.created_at)


class VisitRecordedPublic(BaseModel):
    """A recorded visit and the problems opened on it."""

    visit: VisitPublic
    problems: list[ProblemPublic]


class RatesPublic(BaseModel):
    """Rectification (整改率) and satisfaction (满意率) rates [0-1]; None: nothing to rate."""

    problems_raised: int
    problems_rectified: int
    problems_rated: int
    problems_satisfied: int
    rectification_rate: float | None
    satisfaction_rate: float | None

    @classmethod
    def of(cls, r: ServiceRates) -> RatesPublic:
        return cls(problems_raised=r.problems_raised, problems_rectified=r.problems_rectified,
                   problems_rated=r.problems_rated, problems_satisfied=r.problems_satisfied,
                   rectification_rate=r.rectification_rate,
                   satisfaction_rate=r.satisfaction_rate)


class DailyVolumePublic(BaseModel):
    """Volume of one local day [m³] from ``hours`` hourly means."""

    day: date
    volume_m3: float
    hours: int

    @classmethod
    def of(cls, d: DailyVolume) -> DailyVolumePublic:
        return cls(day=d.day, volume_m3=d.volume_m3, hours=d.hours)


class PeerComparisonPublic(BaseModel):
    """Use per unit against peers of the same industry (percentile 0-100)."""

    industry: str
    basis: str
    value_m3_per_unit: float
    peers: int
    peer_median_m3_per_unit: float | None
    percentile: float | None

    @classmethod
    def of(cls, p: PeerComparison) -> PeerComparisonPublic:
        return cls(industry=p.industry, basis=p.basis, value_m3_per_unit=p.value_m3_per_unit,
                   peers=p.peers, peer_median_m3_per_unit=p.peer_median_m3_per_unit,
                   percentile=p.percentile)


class ConsumptionPublic(BaseModel):
    """Consumption analysis over [start, end): flows [m³/s], volumes [m³]."""

    enterprise_id: int
    start: datetime
    end: datetime
    daily: list[DailyVolumePublic]
    hourly_profile_m3s: list[float | None]
    average_flow_m3s: float
    night_flow_m3s: float
    justified_night_flow_m3s: float
    night_ratio: float
    leak_hint: bool
    leak_reasoning: str
    leak_message: AdviceMessage
    leak_figures: Figures
    peers: PeerComparisonPublic

    @classmethod
    def of(cls, a: ConsumptionAnalysis) -> ConsumptionPublic:
        return cls(enterprise_id=a.enterprise_id, start=a.start, end=a.end,
                   daily=[DailyVolumePublic.of(d) for d in a.daily],
                   hourly_profile_m3s=list(a.hourly_profile_m3s),
                   average_flow_m3s=a.average_flow_m3s, night_flow_m3s=a.night_flow_m3s,
                   justified_night_flow_m3s=a.justified_night_flow_m3s,
                   night_ratio=a.night_ratio, leak_hint=a.leak_hint,
                   leak_reasoning=a.leak_reasoning, leak_message=a.leak_message,
                   leak_figures=with_people_units(a.leak_figures),
                   peers=PeerComparisonPublic.of(a.peers))


class SavingsItemPublic(BaseModel):
    """One piece of advice [m³/year, yuan/year] with its reasoning in English, and the same
    as a message key with its figures."""

    kind: str
    volume_m3_per_year: float
    yuan_per_year: float
    reasoning: str
    message: AdviceMessage
    figures: Figures

    @classmethod
    def of(cls, i: SavingsItem) -> SavingsItemPublic:
        return cls(kind=i.kind, volume_m3_per_year=i.volume_m3_per_year,
                   yuan_per_year=i.yuan_per_year, reasoning=i.reasoning, message=i.message,
                   figures=with_people_units(i.figures))


class SavingsAdvicePublic(BaseModel):
    """Savings advice: items apply one after the other, so they add up."""

    enterprise_id: int
    tariff: str
    annual_volume_m3: float
    annual_cost_yuan: float
    total_yuan_per_year: float
    items: list[SavingsItemPublic]
    consumption: ConsumptionPublic

    @classmethod
    def of(cls, a: SavingsAdvice) -> SavingsAdvicePublic:
        return cls(enterprise_id=a.enterprise_id, tariff=a.tariff,
                   annual_volume_m3=a.annual_volume_m3, annual_cost_yuan=a.annual_cost_yuan,
                   total_yuan_per_year=a.total_yuan_per_year,
                   items=[SavingsItemPublic.of(i) for i in a.items],
                   consumption=ConsumptionPublic.of(a.analysis))
