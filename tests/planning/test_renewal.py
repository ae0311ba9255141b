"""Renewal MIP (HiGHS) on cases small enough to check by hand and by enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waterops.errors import RenewalPlanError
from waterops.planning.renewal import (
    RenewalOptions,
    benefit_matrix,
    compare_plans,
    greedy_plan,
    plan_renewal,
)


def _candidates(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    """(pipe, road, length_m, cost_yuan, risk_yuan_per_year) rows."""
    return pd.DataFrame(
        [r[1:] for r in rows], index=[r[0] for r in rows],
        columns=["road_id", "length_m", "cost_yuan", "risk_yuan_per_year"])


HAND = _candidates([
    ("p1", "A", 100.0, 10.0, 3.0),
    ("p2", "A", 50.0, 5.0, 1.0),
    ("p3", "B", 200.0, 20.0, 5.0),
    ("p4", "C", 80.0, 8.0, 4.0),
])


def brute_force(candidates: pd.DataFrame, options: RenewalOptions) -> float:
    """Best risk reduction by enumerating every pipe's year (0 = not renewed)."""
    benefit = benefit_matrix(candidates.assign(risk_growth=candidates.get("risk_growth", 1.0)),
                             options)
    pipes = list(candidates.index)
    road = candidates["road_id"].to_dict()
    length = candidates["length_m"].to_dict()
    cost = candidates["cost_yuan"].to_dict()
    do = {p for p in pipes if p in options.must_do or road[p] in options.must_do}
    dont = {p for p in pipes if p in options.must_not or road[p] in options.must_not}
    best = -math.inf
    for years in itertools.product(range(options.years + 1), repeat=len(pipes)):
        chosen = dict(zip(pipes, years, strict=True))
        if any(chosen[p] == 0 for p in do) or any(chosen[p] > 0 for p in dont):
            continue
        works: dict[str, set[int]] = {}
        for p, y in chosen.items():
            if y:
                works.setdefault(road[p], set()).add(y)
        if options.whole_roads and any(
                len({chosen[q] for q in pipes if road[q] == r}) > 1 for r in works):
            continue
        if any(len(ys) > 1 for ys in works.values()):
            continue
        spent = [0.0] * options.years
        ok = True
        for r, ys in works.items():
            (y,) = ys
            run_m = sum(length[p] for p in pipes if road[p] == r and chosen[p] == y)
            if run_m < options.min_project_length_m - 1e-9:
                ok = False
            spent[y - 1] += options.project_cost_yuan
        for p, y in chosen.items():
            if y:
                spent[y - 1] += cost[p]
        if not ok or any(s > b + 1e-6 for s, b in zip(spent, options.budgets_yuan, strict=True)):
            continue
        value = sum(benefit[i, y - 1] for i, (p, y) in enumerate(chosen.items()) if y)
        best = max(best, value)
    return best


def test_hand_case_single_pipes() -> None:
    # year 1 (budget 20): p1 + p4 cost 18 and remove 2·3 + 2·4 = 14 (two years each);
    # year 2 (budget 10): p2 would fit but road A was dug up in year 1, p3 costs 20
    plan = plan_renewal(HAND, RenewalOptions((20.0, 10.0)))
    assert plan.status == "Optimal"
    assert plan.risk_reduction_yuan == pytest.approx(14.0)
    # (p3 in year 1 and p4 in year 2 remove 10 + 4 = 14 too: both are optimal)
    assert dict(zip(plan.pipes["pipe_id"], plan.pipes["year"], strict=True)) in (
        {"p1": 1, "p4": 1}, {"p3": 1, "p4": 2})
    assert plan.years["cost_yuan"].tolist() in ([18.0, 0.0], [20.0, 8.0])
    assert plan.mip_gap == pytest.approx(0.0, abs=1e-9)


def test_hand_case_whole_roads_takes_every_pipe_of_a_road() -> None:
    # roads: A (cost 15, 4/yr), B (20, 5/yr), C (8, 4/yr); best: B in year 1 (10), C in 2 (4)
    plan = plan_renewal(HAND, RenewalOptions((20.0, 10.0), whole_roads=True))
    assert plan.risk_reduction_yuan == pytest.approx(14.0)
    assert dict(zip(plan.pipes["pipe_id"], plan.pipes["year"], strict=True)) == {"p3": 1, "p4": 2}
    single_budget = plan_renewal(HAND, RenewalOptions((15.0,), whole_roads=True))
    # A fits (15) and removes 4; C alone removes 4 too, with money left: both optimal at 4,
    # but p1 alone (allowed without whole roads) is never taken without p2
    assert single_budget.risk_reduction_yuan == pytest.approx(4.0)
    assert set(single_budget.pipes["pipe_id"]) in ({"p1", "p2"}, {"p4"})


def test_greedy_is_worse_on_the_hand_case() -> None:
    greedy = greedy_plan(HAND, RenewalOptions((20.0, 10.0), whole_roads=True))
    # C (ratio 1.0) first, then A (15 > 12 left) and B do not fit; nothing fits in year 2
    assert greedy.risk_reduction_yuan == pytest.approx(8.0)
    table = compare_plans({"mip": plan_renewal(HAND, RenewalOptions((20.0, 10.0),
                                                                     whole_roads=True)),
                           "greedy": greedy})
    assert table.set_index("plan").loc["mip", "risk_reduction_yuan"] == pytest.approx(14.0)


def test_must_do_and_must_not() -> None:
    # must do road B (20) in some year: only year 1 has room; then nothing else fits there
    plan = plan_renewal(HAND, RenewalOptions((20.0, 10.0), must_do=frozenset({"B"}),
                                             must_not=frozenset({"p4"})))
    renewed = dict(zip(plan.pipes["pipe_id"], plan.pipes["year"], strict=True))
    assert renewed["p3"] == 1 and "p4" not in renewed
    # year 2: road A: p1 (10, 3/yr × 1 yr) beats p2
    assert renewed == {"p3": 1, "p1": 2}
    assert plan.risk_reduction_yuan == pytest.approx(10.0 + 3.0)


def test_must_do_beyond_budget_is_refused() -> None:
    with pytest.raises(RenewalPlanError, match="must-do"):
        plan_renewal(HAND, RenewalOptions((15.0,), must_do=frozenset({"p3"})))
    with pytest.raises(RenewalPlanError, match="must-do"):
        greedy_plan(HAND, RenewalOptions((15.0,), must_do=frozenset({"p3"})))


def test_minimum_project_length() -> None:
    # at least 120 m per road and year: p4 (80 m, road C) cannot be renewed, p1 (100 m) only
    # with p2; B (20 yuan, 5/yr) beats A (15 yuan, 4/yr) and both do not fit in 30
    plan = plan_renewal(HAND, RenewalOptions((30.0,), min_project_length_m=120.0))
    assert set(plan.pipes["pipe_id"]) == {"p3"}
    assert plan.risk_reduction_yuan == pytest.approx(5.0)
    assert plan.risk_reduction_yuan == pytest.approx(brute_force(
        HAND, RenewalOptions((30.0,), min_project_length_m=120.0)))


def test_yearly_budgets_are_kept_and_ageing_moves_work_earlier() -> None:
    aged = HAND.assign(risk_growth=[1.5, 1.0, 1.0, 1.0])
    options = RenewalOptions((10.0, 10.0, 10.0), appraisal_years=5)
    plan = plan_renewal(aged, options)
    assert (plan.years["cost_yuan"] <= plan.years["budget_yuan"] + 1e-9).all()
    assert plan.risk_reduction_yuan == pytest.approx(brute_force(aged, options))


def test_benefit_matrix_by_hand() -> None:
    one = _candidates([("p", "R", 1.0, 1.0, 10.0)]).assign(risk_growth=2.0)
    b = benefit_matrix(one, RenewalOptions((1.0, 1.0), appraisal_years=3, discount_rate=0.0))
    # risk 10, 20, 40 in years 1..3: renewing in year 1 removes 70, in year 2 60
    assert b.tolist() == [[70.0, 60.0]]
    d = benefit_matrix(one, RenewalOptions((1.0,), appraisal_years=2, discount_rate=0.25))
    assert d.tolist() == [[10.0 + 20.0 / 1.25]]


@pytest.mark.parametrize("bad", [
    {"budgets_yuan": ()}, {"budgets_yuan": (1.0,) * 6}, {"budgets_yuan": (-1.0,)},
    {"budgets_yuan": (math.nan,)}, {"budgets_yuan": (1.0,), "appraisal_years": 0},
    {"budgets_yuan": (1.0,), "discount_rate": 1.5},
    {"budgets_yuan": (1.0,), "must_do": frozenset({"a"}), "must_not": frozenset({"a"})},
])
def test_invalid_options_are_named(bad: dict[str, object]) -> None:
    with pytest.raises(RenewalPlanError):
        RenewalOptions(**bad)  # type: ignore[arg-type]


def test_invalid_candidates_are_named() -> None:
    with pytest.raises(RenewalPlanError, match=r"'p2'.*cost_yuan"):
        plan_renewal(HAND.assign(cost_yuan=[1.0, -2.0, 1.0, 1.0]), RenewalOptions((1.0,)))
    with pytest.raises(RenewalPlanError, match="neither"):
        plan_renewal(HAND, RenewalOptions((1.0,), must_do=frozenset({"nowhere"})))
    with pytest.raises(RenewalPlanError, match="road_id"):
        plan_renewal(HAND.drop(columns="road_id"), RenewalOptions((1.0,)))


@st.composite
def instances(draw: st.DrawFn) -> tuple[pd.DataFrame, RenewalOptions]:
    n = draw(st.integers(2, 5))
    years = draw(st.integers(1, 2))
    roads = draw(st.lists(st.sampled_from("ABC"), min_size=n, max_size=n))
    length = draw(st.lists(st.integers(10, 200), min_size=n, max_size=n))
    cost = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    risk = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    growth = draw(st.lists(st.sampled_from([1.0, 1.1, 1.5]), min_size=n, max_size=n))
    table = pd.DataFrame({"road_id": roads, "length_m": np.array(length, float),
                          "cost_yuan": np.array(cost, float),
                          "risk_yuan_per_year": np.array(risk, float),
                          "risk_growth": growth}, index=[f"p{i}" for i in range(n)])
    budgets = tuple(float(draw(st.integers(0, 60))) for _ in range(years))
    options = RenewalOptions(
        budgets, whole_roads=draw(st.booleans()),
        min_project_length_m=float(draw(st.sampled_from([0, 0, 100, 250]))),
        project_cost_yuan=float(draw(st.sampled_from([0, 0, 5]))),
        must_not=frozenset(draw(st.lists(st.sampled_from(["p0", roads[-1]]), max_size=1))),
        must_do=frozenset(draw(st.lists(st.sampled_from([f"p{n - 1}"]), max_size=1))),
        appraisal_years=years + draw(st.integers(0, 2)),
        discount_rate=draw(st.sampled_from([0.0, 0.05])),
    )
    return table, options


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_mip_equals_enumeration_and_beats_greedy(case: tuple[pd.DataFrame, RenewalOptions]
                                                  ) -> None:
    table, options = case
    if options.must_do & options.must_not:
        return  # refused when the options are made (tested above)
    best = brute_force(table, options)
    if best == -math.inf:  # the must-do pipe fits in no year: both refuse to plan
        with pytest.raises(RenewalPlanError):
            plan_renewal(table, options)
        return
    plan = plan_renewal(table, options)
    assert plan.risk_reduction_yuan == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert (plan.years["cost_yuan"] <= plan.years["budget_yuan"] + 1e-6).all()
    try:
        greedy = greedy_plan(table, options)
    except RenewalPlanError:
        # the baseline renews whole roads: a must-do pipe's road may not fit where the pipe
        # alone does
        assert options.must_do
        return
    assert greedy.risk_reduction_yuan <= plan.risk_reduction_yuan + 1e-6
    assert (greedy.years["cost_yuan"] <= greedy.years["budget_yuan"] + 1e-6).all()


def test_a_greedy_start_does_not_stop_highs() -> None:
    # found by the property test: started from the greedy plan (road B in year 2, 3.1),
    # HiGHS must still find road A's p1 in year 1 (4.0) on top of it
    table = pd.DataFrame({"road_id": list("AABB"), "length_m": [10.0, 100.0, 100.0, 100.0],
                          "cost_yuan": [1.0, 7.0, 2.0, 6.0],
                          "risk_yuan_per_year": [1.0, 2.0, 2.0, 1.0],
                          "risk_growth": [1.0, 1.0, 1.0, 1.1]}, index=["p0", "p1", "p2", "p3"])
    options = RenewalOptions((12.0, 19.0), min_project_length_m=100.0, project_cost_yuan=5.0,
                             appraisal_years=2)
    assert greedy_plan(table, options).risk_reduction_yuan == pytest.approx(3.1)
    assert plan_renewal(table, options).risk_reduction_yuan == pytest.approx(7.1)
    assert brute_force(table, options) == pytest.approx(7.1)
