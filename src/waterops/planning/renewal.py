"""Renewal plans: which pipes (or whole road segments) to renew in which year, within yearly
budgets, to remove the most risk -- a mixed-integer programme solved with HiGHS.

We chose HiGHS through its Python binding ``highspy`` as issue 10 asks: it is open source
(MIT), ships as a wheel, and solves mixed-integer programmes of this size (hundreds of
thousands of binaries) with a proven optimality gap.

The programme
-------------
Pipes ``p`` lie on road segments ``r(p)`` (works are planned road by road); years
``y = 1..Y`` (1 to 5). Each pipe has a renewal cost ``c_p`` [yuan], a length ``L_p`` [m] and a
risk it removes when renewed, ``ρ_p`` [yuan/year] in year 1, growing by a factor ``g_p`` a
year (the exponential ageing of Shamir & Howard 1979, ``g = e^A``; see
:mod:`waterops.planning.break_models`). Renewing ``p`` at the start of year ``y`` removes its
risk for the years ``y .. T`` of the appraisal period (``T ≥ Y``), discounted at rate ``d``::

    b[p, y] = Σ_{t=y..T} ρ_p · g_p^(t-1) / (1 + d)^(t-1)          [yuan]

Variables: ``x[p, y] = 1`` if pipe ``p`` is renewed in year ``y``; ``w[r, y] = 1`` if road
``r`` has works in year ``y``.

    maximise   Σ b[p, y] · x[p, y]
    subject to Σ_y x[p, y] ≤ 1                      (= 1 for must-do pipes; 0 for must-not)
               Σ_{p on r} x[p, y] ≤ n_r w[r, y]       (pipes renewed only with works on their road)
               Σ_{p on r} L_p x[p, y] ≥ L_min w[r, y] (a project is at least L_min long)
               Σ_y w[r, y] ≤ 1                        (a road is dug up once in the horizon)
               Σ_p c_p x[p, y] + F Σ_r w[r, y] ≤ B_y  (yearly budget; F: cost of opening works)

With ``whole_roads`` a project renews every pipe of its road (``x[p, y] = w[r, y]``); the
programme then has one binary per road and year, with the road's summed cost and benefit.
A must-not pipe then rules out its whole road, a must-do pipe forces its whole road.

The greedy baseline ranks whole road segments by benefit / cost (what a spreadsheet does) and
fills each year's budget in turn, must-do roads first; :func:`greedy_plan`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from waterops.errors import RenewalPlanError

MAX_YEARS = 5
"""Longest planning horizon [years] (issue 10: plans over 1-5 years)."""

CANDIDATE_COLUMNS = ("road_id", "length_m", "cost_yuan", "risk_yuan_per_year", "risk_growth")
"""Columns of the candidate table (index: pipe id)."""

PLAN_COLUMNS = ("pipe_id", "road_id", "year", "length_m", "cost_yuan", "risk_reduction_yuan")
"""Columns of a plan's pipe table, one row per renewed pipe."""

Method = Literal["mip", "greedy"]


@dataclass(frozen=True)
class RenewalOptions:
    """What the planner asks of a plan.

    Attributes
    ----------
    budgets_yuan : budget of each year of the plan [yuan]; its length is the horizon (1-5)
    whole_roads : renew whole road segments only (else single pipes, grouped into road works)
    min_project_length_m : shortest works on one road in one year [m] (0: no minimum)
    project_cost_yuan : fixed cost of opening works on a road in a year [yuan] (traffic
        management, reinstatement set-up), charged to that year's budget
    must_do : pipe ids, or road ids (all their pipes), to renew within the horizon
    must_not : pipe ids, or road ids, not to renew
    appraisal_years : years over which a renewal's risk reduction is counted (≥ horizon;
        default: the horizon)
    discount_rate : yearly discount rate of future risk [-] (0.0: none)
    time_limit_s : HiGHS time limit [s]
    mip_rel_gap : HiGHS relative optimality gap at which it stops [-] (0.1 %: the risk
        figures are far less certain than that)
    warm_start : start HiGHS from the greedy plan (when the greedy plan is feasible), so the
        plan returned is never worse than the baseline even when the time limit stops HiGHS
    """

    budgets_yuan: tuple[float, ...]
    whole_roads: bool = False
    min_project_length_m: float = 0.0
    project_cost_yuan: float = 0.0
    must_do: frozenset[str] = field(default_factory=frozenset)
    must_not: frozenset[str] = field(default_factory=frozenset)
    appraisal_years: int | None = None
    discount_rate: float = 0.0
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-3
    warm_start: bool = True

    def __post_init__(self) -> None:
        years = len(self.budgets_yuan)
        if not 1 <= years <= MAX_YEARS:
            raise RenewalPlanError(f"a plan covers 1 to {MAX_YEARS} years, got {years} budgets")
        for year, budget in enumerate(self.budgets_yuan, start=1):
            if not (math.isfinite(budget) and budget >= 0):
                raise RenewalPlanError(f"the budget of year {year} must be a finite amount "
                                       f"≥ 0 yuan, got {budget!r}")
        if not (math.isfinite(self.min_project_length_m) and self.min_project_length_m >= 0):
            raise RenewalPlanError("the minimum project length must be ≥ 0 m, got "
                                   f"{self.min_project_length_m!r}")
        if not (math.isfinite(self.project_cost_yuan) and self.project_cost_yuan >= 0):
            raise RenewalPlanError("the cost of opening works must be ≥ 0 yuan, got "
                                   f"{self.project_cost_yuan!r}")
        if self.appraisal_years is not None and not years <= self.appraisal_years <= 100:
            raise RenewalPlanError(f"the appraisal period must cover the {years} plan years "
                                   f"and at most 100, got {self.appraisal_years}")
        if not (math.isfinite(self.discount_rate) and 0 <= self.discount_rate < 1):
            raise RenewalPlanError(f"the discount rate must be in [0, 1), got "
                                   f"{self.discount_rate!r}")
        if not self.time_limit_s > 0:
            raise RenewalPlanError(f"the time limit must be positive, got {self.time_limit_s}")
        if not 0 <= self.mip_rel_gap < 1:
            raise RenewalPlanError(f"the optimality gap must be in [0, 1), got "
                                   f"{self.mip_rel_gap}")
        both = set(self.must_do) & set(self.must_not)
        if both:
            raise RenewalPlanError(f"{sorted(both)[0]!r} is on both the must-do and the "
                                   "must-not list")

    @property
    def years(self) -> int:
        """Horizon of the plan [years]."""
        return len(self.budgets_yuan)


@dataclass(frozen=True)
class RenewalPlan:
    """A renewal plan and how it was found.

    Attributes
    ----------
    pipes : one row per renewed pipe, columns :data:`PLAN_COLUMNS` (year 1..Y; risk
        reduction over the appraisal period [yuan])
    years : per year: cost_yuan, length_m, pipes, roads, risk_reduction_yuan, budget_yuan
    risk_reduction_yuan : the objective: risk removed over the appraisal period [yuan]
    method : ``"mip"`` (HiGHS) or ``"greedy"``
    status : HiGHS's model status (``"Optimal"``, ``"Time limit reached"`` …) or ``"greedy"``
    mip_gap : HiGHS's relative optimality gap at the end [-] (NaN for greedy)
    solve_time_s : solver time [s] (building the programme not included)
    options : the options of the plan
    """

    pipes: pd.DataFrame
    years: pd.DataFrame
    risk_reduction_yuan: float
    method: Method
    status: str
    mip_gap: float
    solve_time_s: float
    options: RenewalOptions

    @property
    def cost_yuan(self) -> float:
        """Total cost of the plan [yuan] (pipes and opening works)."""
        return float(self.years["cost_yuan"].sum())

    @property
    def length_m(self) -> float:
        """Total length renewed [m]."""
        return float(self.pipes["length_m"].sum())


def check_candidates(candidates: pd.DataFrame) -> pd.DataFrame:
    """The candidate table with checked columns (:data:`CANDIDATE_COLUMNS`), index pipe ids.

    ``risk_growth`` defaults to 1 (no ageing) when absent.

    Raises
    ------
    RenewalPlanError
        a column missing, duplicate pipe ids, a negative or non-finite cost, length or risk.
    """
    table = candidates.copy()
    if "risk_growth" not in table.columns:
        table["risk_growth"] = 1.0
    missing = [c for c in CANDIDATE_COLUMNS if c not in table.columns]
    if missing:
        raise RenewalPlanError(f"the candidate pipes lack the column(s) {', '.join(missing)}")
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][0]
        raise RenewalPlanError(f"pipe {dup!r} is listed twice among the candidates")
    table.index = table.index.astype(str)
    table["road_id"] = table["road_id"].astype(str)
    for column in ("length_m", "cost_yuan", "risk_yuan_per_year", "risk_growth"):
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy()) | (values.to_numpy() < 0)
        if bad.any():
            pipe = table.index[np.flatnonzero(bad)[0]]
            raise RenewalPlanError(f"pipe {pipe!r}: {column} must be a finite number ≥ 0, "
                                   f"got {table.loc[pipe, column]!r}")
        table[column] = values
    return table.loc[:, list(CANDIDATE_COLUMNS)]


def benefit_matrix(candidates: pd.DataFrame, options: RenewalOptions) -> npt.NDArray[np.float64]:
    """Risk removed by renewing each pipe in each plan year, ``b[p, y]`` [yuan] (see module)."""
    years = options.years
    appraisal = options.appraisal_years or years
    t = np.arange(appraisal, dtype=np.float64)  # t - 1 for t = 1..T
    growth = candidates["risk_growth"].to_numpy(dtype=np.float64)[:, None]
    per_year = (candidates["risk_yuan_per_year"].to_numpy(dtype=np.float64)[:, None]
                * growth ** t[None, :] / (1.0 + options.discount_rate) ** t[None, :])
    from_year = np.cumsum(per_year[:, ::-1], axis=1)[:, ::-1]  # Σ_{t=y..T}
    return np.ascontiguousarray(from_year[:, :years])


@dataclass(frozen=True)
class _Roads:
    """Pipes grouped by road: road ids and each pipe's road position."""

    ids: npt.NDArray[np.object_]
    of_pipe: npt.NDArray[np.intp]

    @classmethod
    def of(cls, candidates: pd.DataFrame) -> _Roads:
        codes, ids = pd.factorize(candidates["road_id"], sort=True)
        return cls(np.asarray(ids, dtype=object), codes.astype(np.intp))


def _resolve(names: Collection[str], candidates: pd.DataFrame, what: str
             ) -> npt.NDArray[np.bool_]:
    """Pipes named directly or through their road."""
    chosen = np.zeros(len(candidates), dtype=bool)
    if not names:
        return chosen
    pipe_ids = candidates.index
    road_ids = candidates["road_id"]
    unknown = [n for n in names if n not in pipe_ids and not (road_ids == n).any()]
    if unknown:
        raise RenewalPlanError(f"the {what} list names {unknown[0]!r}, which is neither a "
                               "candidate pipe nor a road")
    chosen |= pipe_ids.isin(list(names))
    chosen |= road_ids.isin(list(names)).to_numpy()
    return chosen


def plan_renewal(candidates: pd.DataFrame, options: RenewalOptions) -> RenewalPlan:
    """The renewal plan removing the most risk within the budgets (HiGHS MIP).

    Parameters
    ----------
    candidates : pipes that may be renewed, index pipe id, columns :data:`CANDIDATE_COLUMNS`
        (road_id, length_m [m], cost_yuan [yuan], risk_yuan_per_year [yuan/year, the risk
        renewal removes in year 1], risk_growth [-, factor a year])
    options : budgets, horizon and constraints

    Returns
    -------
    RenewalPlan
        the best plan HiGHS found within the time limit and its optimality gap.

    Raises
    ------
    RenewalPlanError
        invalid candidates, unknown must-do/must-not ids, or no plan satisfies the
        constraints (e.g. the must-do pipes cost more than the budgets).
    """
    table = check_candidates(candidates)
    benefit = benefit_matrix(table, options)
    must_do = _resolve(options.must_do, table, "must-do")
    must_not = _resolve(options.must_not, table, "must-not")
    if (must_do & must_not).any():
        pipe = table.index[np.flatnonzero(must_do & must_not)[0]]
        raise RenewalPlanError(f"pipe {pipe!r} is both must-do and must-not (through its road)")
    roads = _Roads.of(table)
    start: npt.NDArray[np.intp] | None = None
    if options.warm_start:
        try:
            start = _greedy_years(table, benefit, roads, must_do, must_not, options)
        except RenewalPlanError:
            start = None  # the greedy cannot place the must-do list; HiGHS may still
    if options.whole_roads:
        chosen_year, status, gap, seconds = _solve_whole_roads(
            table, benefit, roads, must_do, must_not, options, start)
    else:
        chosen_year, status, gap, seconds = _solve_pipes(
            table, benefit, roads, must_do, must_not, options, start)
    return _plan(table, benefit, roads, chosen_year, "mip", status, gap, seconds, options)


def _solve_whole_roads(table: pd.DataFrame, benefit: npt.NDArray[np.float64], roads: _Roads,
                       must_do: npt.NDArray[np.bool_], must_not: npt.NDArray[np.bool_],
                       options: RenewalOptions, start: npt.NDArray[np.intp] | None
                       ) -> tuple[npt.NDArray[np.intp], str, float, float]:
    n_roads, years = len(roads.ids), options.years
    cost = (np.bincount(roads.of_pipe, table["cost_yuan"].to_numpy(dtype=np.float64), n_roads)
            + options.project_cost_yuan).astype(np.float64)
    length = np.bincount(roads.of_pipe, table["length_m"].to_numpy(dtype=np.float64), n_roads)
    road_benefit = np.stack([np.bincount(roads.of_pipe, benefit[:, y], n_roads)
                             for y in range(years)], axis=1)
    road_do = np.bincount(roads.of_pipe, must_do, n_roads) > 0
    road_not = np.bincount(roads.of_pipe, must_not, n_roads) > 0
    too_short = length < options.min_project_length_m - 1e-9
    if (road_do & (road_not | too_short)).any():
        road = roads.ids[np.flatnonzero(road_do & (road_not | too_short))[0]]
        why = "a must-not pipe" if road_not[list(roads.ids).index(road)] else \
            f"less than {options.min_project_length_m:g} m of pipe"
        raise RenewalPlanError(f"road {road!r} must be renewed but has {why}")
    # columns: w[r, y] at r * years + y
    n_cols = n_roads * years
    upper = np.where(np.repeat(road_not | too_short, years), 0.0, 1.0)
    rows = [
        # Σ_y w[r, y] in [must_do, 1]
        (np.repeat(np.arange(n_roads), years), np.arange(n_cols), np.ones(n_cols),
         road_do.astype(float), np.ones(n_roads)),
        # budget of each year
        (np.tile(np.arange(years), n_roads), np.arange(n_cols), np.repeat(cost, years),
         np.full(years, -np.inf), np.asarray(options.budgets_yuan, dtype=float)),
    ]
    initial = None
    if start is not None:
        road_start = np.zeros(n_roads, dtype=np.intp)
        np.maximum.at(road_start, roads.of_pipe, start)
        initial = np.zeros((n_roads, years))
        chosen = np.flatnonzero(road_start)
        initial[chosen, road_start[chosen] - 1] = 1.0
    values, status, gap, seconds = _solve(road_benefit.ravel().astype(np.float64), upper,
                                          rows, n_cols, options,
                                          None if initial is None else initial.ravel())
    road_year = _years_of(values.reshape(n_roads, years))
    return road_year[roads.of_pipe], status, gap, seconds


def _solve_pipes(table: pd.DataFrame, benefit: npt.NDArray[np.float64], roads: _Roads,
                 must_do: npt.NDArray[np.bool_], must_not: npt.NDArray[np.bool_],
                 options: RenewalOptions, start: npt.NDArray[np.intp] | None
                 ) -> tuple[npt.NDArray[np.intp], str, float, float]:
    n_pipes, n_roads, years = len(table), len(roads.ids), options.years
    n_x, n_w = n_pipes * years, n_roads * years
    x = np.arange(n_x).reshape(n_pipes, years)  # x[p, y]
    w = n_x + np.arange(n_w).reshape(n_roads, years)  # w[r, y]
    cost = table["cost_yuan"].to_numpy()
    length = table["length_m"].to_numpy()
    upper = np.ones(n_x + n_w)
    upper[x[must_not].ravel()] = 0.0
    ones_x = np.ones(n_x)
    pipe_rows = np.repeat(np.arange(n_pipes), years)
    road_year_row = roads.of_pipe[:, None] * years + np.arange(years)[None, :]
    pipes_on_road = np.bincount(roads.of_pipe, minlength=n_roads).astype(np.float64)
    rows = [
        # Σ_y x[p, y] in [must_do, 1]
        (pipe_rows, x.ravel(), ones_x, must_do.astype(float), np.ones(n_pipes)),
        # Σ_{p on r} x[p, y] - n_r w[r, y] ≤ 0: pipes only with works on their road (one
        # row per road and year, not per pipe: a far smaller programme, same integer plans)
        (np.concatenate([road_year_row.ravel(), np.arange(n_w)]),
         np.concatenate([x.ravel(), w.ravel()]),
         np.concatenate([ones_x, -np.repeat(pipes_on_road, years)]),
         np.full(n_w, -np.inf), np.zeros(n_w)),
        # Σ_y w[r, y] ≤ 1
        (np.repeat(np.arange(n_roads), years), w.ravel(), np.ones(n_w),
         np.full(n_roads, -np.inf), np.ones(n_roads)),
        # yearly budgets
        (np.concatenate([np.tile(np.arange(years), n_pipes), np.tile(np.arange(years), n_roads)]),
         np.concatenate([x.ravel(), w.ravel()]),
         np.concatenate([np.repeat(cost, years), np.full(n_w, options.project_cost_yuan)]),
         np.full(years, -np.inf), np.asarray(options.budgets_yuan, dtype=float)),
    ]
    if options.min_project_length_m > 0:
        # Σ_{p on r} L_p x[p, y] - L_min w[r, y] ≥ 0, row r * years + y
        rows.append((
            np.concatenate([road_year_row.ravel(), np.arange(n_w)]),
            np.concatenate([x.ravel(), w.ravel()]),
            np.concatenate([np.repeat(length, years),
                            np.full(n_w, -options.min_project_length_m)]),
            np.zeros(n_w), np.full(n_w, np.inf)))
    objective = np.concatenate([benefit.ravel(), np.zeros(n_w)])
    initial = None
    if start is not None:
        initial = np.zeros(n_x + n_w)
        chosen = np.flatnonzero(start)
        initial[x[chosen, start[chosen] - 1]] = 1.0
        initial[w[roads.of_pipe[chosen], start[chosen] - 1]] = 1.0
    values, status, gap, seconds = _solve(objective, upper, rows, n_x + n_w, options, initial)
    return _years_of(values[:n_x].reshape(n_pipes, years)), status, gap, seconds


Rows = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64],
             npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""A block of rows: (row in block, column, coefficient, row lower bounds, row upper bounds)."""


def _solve(objective: npt.NDArray[np.float64], upper: npt.NDArray[np.float64],
           blocks: Sequence[tuple[npt.ArrayLike, ...]], n_cols: int, options: RenewalOptions,
           initial: npt.NDArray[np.float64] | None = None
           ) -> tuple[npt.NDArray[np.float64], str, float, float]:
    """Maximise ``objective · v`` over binaries ``0 ≤ v ≤ upper`` and the row blocks,
    starting from the feasible ``initial`` if given."""
    row_index, col_index, coeff, lower_b, upper_b = [], [], [], [], []
    offset = 0
    for rows, cols, vals, lo, hi in blocks:
        lo_arr = np.asarray(lo, dtype=np.float64)
        row_index.append(np.asarray(rows, dtype=np.int64) + offset)
        col_index.append(np.asarray(cols, dtype=np.int64))
        coeff.append(np.asarray(vals, dtype=np.float64))
        lower_b.append(lo_arr)
        upper_b.append(np.asarray(hi, dtype=np.float64))
        offset += lo_arr.size
    matrix = sp.csc_matrix((np.concatenate(coeff),
                            (np.concatenate(row_index), np.concatenate(col_index))),
                           shape=(offset, n_cols))
    matrix.sum_duplicates()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = offset
    # minimise the negated benefit: HiGHS 1.16 mishandles a user start solution when
    # maximising (it proved a start "optimal" that enumeration beats)
    lp.sense_ = highspy.ObjSense.kMinimize
    lp.col_cost_ = -objective
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = upper
    lp.row_lower_ = np.clip(np.concatenate(lower_b), -inf, inf)
    lp.row_upper_ = np.clip(np.concatenate(upper_b), -inf, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = offset
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols
    solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.silent()
    solver.setOptionValue("time_limit", float(options.time_limit_s))
    solver.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    solver.setOptionValue("threads", 1)
    solver.passModel(lp)
    if initial is not None:
        solver.setSolution(np.flatnonzero(initial > 0.5).astype(np.int32).size,
                           np.flatnonzero(initial > 0.5).astype(np.int32),
                           initial[initial > 0.5])
    started = time.perf_counter()
    solver.run()
    seconds = time.perf_counter() - started
    status = solver.getModelStatus()
    status_text = solver.modelStatusToString(status)
    info = solver.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise RenewalPlanError("no plan satisfies the constraints: the must-do pipes or roads "
                               "do not fit in the yearly budgets (or are shorter than the "
                               "minimum project length)")
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        raise RenewalPlanError(f"HiGHS found no feasible plan ({status_text}); give it more "
                               "time or relax the constraints")
    values = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    return values, status_text, float(info.mip_gap), seconds


def _years_of(values: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Year (1..Y) chosen for each row of a rows × years 0/1 matrix, 0 for none."""
    chosen = values > 0.5
    return np.where(chosen.any(axis=1), chosen.argmax(axis=1) + 1, 0).astype(np.intp)


def _plan(table: pd.DataFrame, benefit: npt.NDArray[np.float64], roads: _Roads,
          year_of_pipe: npt.NDArray[np.intp], method: Method, status: str, gap: float,
          seconds: float, options: RenewalOptions) -> RenewalPlan:
    renewed = np.flatnonzero(year_of_pipe > 0)
    years = year_of_pipe[renewed]
    pipes = pd.DataFrame({
        "pipe_id": table.index[renewed].astype(str),
        "road_id": table["road_id"].to_numpy()[renewed],
        "year": years.astype(np.int64),
        "length_m": table["length_m"].to_numpy()[renewed],
        "cost_yuan": table["cost_yuan"].to_numpy()[renewed],
        "risk_reduction_yuan": benefit[renewed, years - 1],
    }, columns=list(PLAN_COLUMNS))
    pipes = pipes.sort_values(["year", "road_id", "pipe_id"], kind="stable").reset_index(drop=True)
    per_year = []
    for year in range(1, options.years + 1):
        in_year = pipes[pipes["year"] == year]
        n_roads = int(in_year["road_id"].nunique())
        per_year.append({
            "year": year,
            "cost_yuan": float(in_year["cost_yuan"].sum()) + n_roads * options.project_cost_yuan,
            "length_m": float(in_year["length_m"].sum()),
            "pipes": len(in_year), "roads": n_roads,
            "risk_reduction_yuan": float(in_year["risk_reduction_yuan"].sum()),
            "budget_yuan": float(options.budgets_yuan[year - 1]),
        })
    years_table = pd.DataFrame(per_year)
    return RenewalPlan(pipes, years_table, float(pipes["risk_reduction_yuan"].sum()), method,
                       status, gap, seconds, options)


def greedy_plan(candidates: pd.DataFrame, options: RenewalOptions) -> RenewalPlan:
    """The baseline: whole road segments ranked by benefit / cost, each year's budget in turn.

    Must-do roads go first (earliest year with room); must-not pipes are left out of their
    road's project; a project shorter than the minimum length is not taken. Each year, roads
    are taken in decreasing order of (risk removed if renewed that year) / cost while they fit.

    Raises
    ------
    RenewalPlanError
        if a must-do road does not fit in any year's remaining budget.
    """
    table = check_candidates(candidates)
    benefit = benefit_matrix(table, options)
    must_do = _resolve(options.must_do, table, "must-do")
    must_not = _resolve(options.must_not, table, "must-not")
    roads = _Roads.of(table)
    year_of_pipe = _greedy_years(table, benefit, roads, must_do, must_not, options)
    return _plan(table, benefit, roads, year_of_pipe, "greedy", "greedy", math.nan, 0.0,
                 options)


def _greedy_years(table: pd.DataFrame, benefit: npt.NDArray[np.float64], roads: _Roads,
                  must_do: npt.NDArray[np.bool_], must_not: npt.NDArray[np.bool_],
                  options: RenewalOptions) -> npt.NDArray[np.intp]:
    """Year (0: none) of each pipe in the greedy plan (see :func:`greedy_plan`)."""
    n_roads = len(roads.ids)
    eligible = ~must_not
    if options.whole_roads:
        blocked = np.bincount(roads.of_pipe, must_not, n_roads) > 0
        eligible &= ~blocked[roads.of_pipe]
    weights = eligible.astype(float)
    cost = (np.bincount(roads.of_pipe, table["cost_yuan"].to_numpy() * weights, n_roads)
            + options.project_cost_yuan).astype(np.float64)
    length = np.bincount(roads.of_pipe, table["length_m"].to_numpy() * weights, n_roads)
    gain = np.stack([np.bincount(roads.of_pipe, benefit[:, y] * weights, n_roads)
                     for y in range(options.years)], axis=1)
    usable = (length >= options.min_project_length_m - 1e-9) & (length > 0)
    remaining = np.asarray(options.budgets_yuan, dtype=float).copy()
    road_year = np.zeros(n_roads, dtype=np.intp)
    for road in np.flatnonzero(np.bincount(roads.of_pipe, must_do, n_roads) > 0):
        fits = np.flatnonzero((remaining >= cost[road] - 1e-9) & usable[road])
        if fits.size == 0:
            raise RenewalPlanError(f"must-do road {roads.ids[road]!r} ({cost[road]:,.0f} yuan) "
                                   "fits in no year's remaining budget")
        road_year[road] = fits[0] + 1
        remaining[fits[0]] -= cost[road]
    for year in range(options.years):
        ratio = np.where(cost > 0, gain[:, year] / np.maximum(cost, 1e-300), np.inf)
        order = np.argsort(-ratio, kind="stable")
        for road in order:
            if road_year[road] or not usable[road] or gain[road, year] <= 0:
                continue
            if cost[road] <= remaining[year] + 1e-9:
                road_year[road] = year + 1
                remaining[year] -= cost[road]
    return np.where(eligible, road_year[roads.of_pipe], 0).astype(np.intp)


def compare_plans(plans: dict[str, RenewalPlan]) -> pd.DataFrame:
    """Plans side by side: one row per plan (cost, length, pipes, roads, risk removed, gap)."""
    rows = []
    for name, plan in plans.items():
        rows.append({
            "plan": name, "method": plan.method, "status": plan.status,
            "years": plan.options.years, "cost_yuan": plan.cost_yuan,
            "budget_yuan": float(sum(plan.options.budgets_yuan)),
            "length_m": plan.length_m, "pipes": len(plan.pipes),
            "roads": int(plan.pipes["road_id"].nunique()),
            "risk_reduction_yuan": plan.risk_reduction_yuan,
            "mip_gap": plan.mip_gap, "solve_time_s": plan.solve_time_s,
        })
    return pd.DataFrame(rows)
