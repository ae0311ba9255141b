"""Pipe register and renewal plans at the HTTP edge. SI units (m), money in yuan."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from waterops.store.pipe_register_store import StoredPlan

SystemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ElementId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Yuan = Annotated[float, Field(ge=0, le=1e13, allow_inf_nan=False)]


class PipePublic(BaseModel):
    """One pipe of the register."""

    pipe_id: str
    material: str
    diameter_m: float
    install_year: int
    length_m: float
    road_id: str
    road_class: str
    pressure_m: float | None
    failures: int = Field(description="breaks and leaks on record")


class PlanBase(BaseModel):
    """What a planner asks of a renewal plan."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
    budgets_yuan: Annotated[list[Yuan], Field(min_length=1, max_length=5,
                                              description="budget of each plan year")]
    start_year: Annotated[int, Field(ge=2000, le=2100)]
    method: Literal["mip", "greedy"] = "mip"
    whole_roads: bool = False
    min_project_length_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] = 0.0
    project_cost_yuan: Yuan = 0.0
    must_do: Annotated[list[ElementId], Field(max_length=1000)] = []
    must_not: Annotated[list[ElementId], Field(max_length=1000)] = []
    appraisal_years: Annotated[int, Field(ge=1, le=100)] | None = None
    discount_rate: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    time_limit_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = 60.0


class PlanCreate(PlanBase):
    """A new plan for a system's register."""

    system: SystemId


class PlanPipePublic(BaseModel):
    """A renewed pipe of a plan."""

    pipe_id: str
    road_id: str
    year: int
    length_m: float
    cost_yuan: float
    risk_reduction_yuan: float


class PlanPublic(BaseModel):
    """A saved renewal plan with its per-year figures and pipes."""

    id: int
    system: str
    name: str
    method: str
    status: str
    start_year: int
    options: dict[str, Any]
    years: list[dict[str, Any]]
    risk_reduction_yuan: float
    cost_yuan: float
    mip_gap: float | None
    solve_time_s: float
    created_by: int | None
    created_at: datetime
    pipes: list[PlanPipePublic]

    @classmethod
    def of(cls, plan: StoredPlan) -> PlanPublic:
        """The public form of a stored plan."""
        return cls(
            id=plan.id, system=plan.system, name=plan.name, method=plan.method,
            status=plan.status, start_year=plan.start_year, options=plan.options,
            years=plan.years, risk_reduction_yuan=plan.risk_reduction_yuan,
            cost_yuan=plan.cost_yuan, mip_gap=plan.mip_gap, solve_time_s=plan.solve_time_s,
            created_by=plan.created_by, created_at=plan.created_at,
            pipes=[PlanPipePublic.model_validate(r) for r in plan.pipes.to_dict("records")])


class PlanComparisonRow(BaseModel):
    """One plan in a side-by-side comparison."""

    plan_id: int
    name: str
    system: str
    method: str
    status: str
    years: int
    start_year: int
    budget_yuan: float
    cost_yuan: float
    length_m: float
    pipes: int
    roads: int
    risk_reduction_yuan: float
    failures_avoided: float | None
    leakage_avoided_m3: float | None
    mip_gap: float | None
