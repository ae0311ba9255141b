"""Pipe renewal use cases: keep a system's pipe register, make renewal plans, compare them.

A plan is made from the stored register: the break-rate model is fitted on its whole history
(:mod:`waterops.planning.break_models`), risk priced per pipe (:mod:`waterops.planning.risk`,
with the pipe-closure criticality when one is given), the plan chosen by HiGHS (or the greedy
baseline) (:mod:`waterops.planning.renewal`), its failures and leakage avoided computed
(:mod:`waterops.planning.benefits`) and everything saved with the planner's audit line.
Planners and administrators (``Permission.RENEWAL_PLAN``) may do all of it; the command line
acts as the machine's operator (``user=None``, no role check, no audit line).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from waterops.errors import RecordNotFoundError, RenewalPlanError
from waterops.model.accounts import Permission, User
from waterops.planning.benefits import failure_benefits
from waterops.planning.break_models import fit_break_model
from waterops.planning.register import PipeRegister, make_register
from waterops.planning.renewal import RenewalOptions, RenewalPlan, greedy_plan, plan_renewal
from waterops.planning.risk import consequence_table, renewal_candidates, risk_table
from waterops.service.auth import Clock, require, utc_now
from waterops.store.pipe_register_store import PipeRegisterStore, StoredPlan


@dataclass(frozen=True)
class PlanRequest:
    """What a planner asks for (money in yuan, lengths in m).

    Attributes
    ----------
    name : the plan's name
    budgets_yuan : budget of each plan year (1-5 years)
    start_year : calendar year of the plan's first year
    method : ``"mip"`` (HiGHS) or ``"greedy"`` (the baseline)
    whole_roads, min_project_length_m, project_cost_yuan, must_do, must_not,
    appraisal_years, discount_rate, time_limit_s : as :class:`RenewalOptions`
    """

    name: str
    budgets_yuan: tuple[float, ...]
    start_year: int
    method: Literal["mip", "greedy"] = "mip"
    whole_roads: bool = False
    min_project_length_m: float = 0.0
    project_cost_yuan: float = 0.0
    must_do: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    appraisal_years: int | None = None
    discount_rate: float = 0.0
    time_limit_s: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict)

    def options(self) -> RenewalOptions:
        """The renewal options of the request (raises RenewalPlanError if invalid)."""
        return RenewalOptions(
            tuple(float(b) for b in self.budgets_yuan), whole_roads=self.whole_roads,
            min_project_length_m=self.min_project_length_m,
            project_cost_yuan=self.project_cost_yuan, must_do=frozenset(self.must_do),
            must_not=frozenset(self.must_not), appraisal_years=self.appraisal_years,
            discount_rate=self.discount_rate, time_limit_s=self.time_limit_s)


class RenewalService:
    """Pipe registers and renewal plans.

    Parameters
    ----------
    store : the register and plan repository
    clock : the current UTC time
    """

    def __init__(self, store: PipeRegisterStore, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _check(user: User | None, resource: str) -> None:
        if user is not None:
            require(user, Permission.RENEWAL_PLAN, resource)

    def import_register(self, user: User | None, system: str, register: PipeRegister) -> int:
        """Replace the register of ``system``; returns the number of pipes stored."""
        self._check(user, f"pipe register {system}")
        return self.store.replace_register(system, register.pipes, register.breaks,
                                           register.history_years, self.clock(), user)

    def register(self, user: User | None, system: str) -> PipeRegister:
        """The register of ``system`` (RecordNotFoundError if there is none)."""
        self._check(user, f"pipe register {system}")
        stored = self.store.register(system)
        return make_register(stored.pipes.assign(system=system), stored.breaks,
                             stored.history_years, source=f"pipe register {system!r}")

    def register_exists(self, user: User | None, system: str) -> None:
        """Raise RecordNotFoundError unless ``system`` has a register."""
        self._check(user, f"pipe register {system}")
        if system not in self.store.systems():
            raise RecordNotFoundError("pipe register", system)

    def pipes_page(self, user: User | None, system: str, limit: int, offset: int, *,
                   road_id: str | None = None, material: str | None = None
                   ) -> tuple[pd.DataFrame, int, dict[str, int]]:
        """One page of the register's pipes, the total, and failures per pipe on the page."""
        self._check(user, f"pipe register {system}")
        return self.store.pipes_page(system, limit, offset, road_id=road_id,
                                     material=material)

    def make_plan(self, user: User | None, system: str, request: PlanRequest,
                  criticality: pd.DataFrame | None = None) -> StoredPlan:
        """Make, price and save a renewal plan for ``system``'s register."""
        self._check(user, f"renewal plans of {system}")
        options = request.options()
        register = self.register(None, system)
        model = fit_break_model(register)
        consequence = consequence_table(register, criticality)
        risk = risk_table(register, model, consequence, request.start_year)
        candidates = renewal_candidates(register, model, risk, request.start_year)
        plan = (plan_renewal(candidates, options) if request.method == "mip"
                else greedy_plan(candidates, options))
        benefits = failure_benefits(register, model, plan, request.start_year)
        summary = _summary(plan, request, benefits,
                           int(consequence.attrs.get("without_criticality", 0)))
        plan_id = self.store.save_plan(system, request.name, summary, plan.pipes,
                                       self.clock(), user)
        return self.store.plan(plan_id)

    def plan(self, user: User | None, plan_id: int) -> StoredPlan:
        """The saved plan ``plan_id``."""
        self._check(user, f"renewal plan {plan_id}")
        return self.store.plan(plan_id)

    def plans(self, user: User | None, system: str | None = None) -> list[StoredPlan]:
        """Saved plans, newest first."""
        self._check(user, "renewal plans")
        return self.store.plans(system)

    def compare(self, user: User | None, plan_ids: list[int]) -> pd.DataFrame:
        """Plans side by side: one row per plan."""
        self._check(user, "renewal plans")
        if not 1 <= len(plan_ids) <= 10:
            raise RenewalPlanError(f"compare 1 to 10 plans, got {len(plan_ids)}")
        return compare_stored([self.store.plan(i) for i in plan_ids])


def _summary(plan: RenewalPlan, request: PlanRequest, benefits: pd.DataFrame,
             without_criticality: int) -> dict[str, Any]:
    years = plan.years.to_dict("records")
    for k, record in enumerate(years):
        row = benefits.iloc[k]
        record["calendar_year"] = request.start_year + k
        record["failures_avoided"] = float(row["failures_avoided"])
        record["leakage_avoided_m3"] = float(row["leakage_avoided_m3"])
    options = {k: (sorted(v) if isinstance(v, tuple | frozenset) and k.startswith("must")
                   else list(v) if isinstance(v, tuple) else v)
               for k, v in asdict(request).items() if k not in ("name", "extra")}
    options["pipes_without_criticality"] = without_criticality
    options["appraisal_failures_avoided"] = float(benefits["failures_avoided"].sum())
    options["appraisal_leakage_avoided_m3"] = float(benefits["leakage_avoided_m3"].sum())
    return {"method": plan.method, "status": plan.status, "start_year": request.start_year,
            "options": options, "years": years,
            "risk_reduction_yuan": plan.risk_reduction_yuan, "cost_yuan": plan.cost_yuan,
            "mip_gap": plan.mip_gap, "solve_time_s": plan.solve_time_s}


def compare_stored(plans: list[StoredPlan]) -> pd.DataFrame:
    """Saved plans side by side (cost, length, roads, risk removed, failures avoided …)."""
    rows = []
    for p in plans:
        gap = p.mip_gap
        rows.append({
            "plan_id": p.id, "name": p.name, "system": p.system, "method": p.method,
            "status": p.status, "years": len(p.years), "start_year": p.start_year,
            "budget_yuan": float(sum(y["budget_yuan"] for y in p.years)),
            "cost_yuan": p.cost_yuan,
            "length_m": float(p.pipes["length_m"].sum()) if len(p.pipes) else 0.0,
            "pipes": len(p.pipes), "roads": int(p.pipes["road_id"].nunique()),
            "risk_reduction_yuan": p.risk_reduction_yuan,
            "failures_avoided": float(p.options.get("appraisal_failures_avoided", math.nan)),
            "leakage_avoided_m3": float(p.options.get("appraisal_leakage_avoided_m3",
                                                      math.nan)),
            "mip_gap": math.nan if gap is None else gap,
        })
    return pd.DataFrame(rows)
