"""Pipe registers and renewal plans in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from waterops.errors import RecordNotFoundError, RegisterError
from waterops.model.accounts import Role
from waterops.planning.register import make_register
from waterops.planning.renewal import RenewalOptions, plan_renewal
from waterops.planning.synthetic_register import synthetic_pipes
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.alarm_tables import audit_log
from waterops.store.pipe_register_store import PipeRegisterStore

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_register_round_trip_and_replace(store: TelemetryStore) -> None:
    registers = PipeRegisterStore(store.engine)
    register = synthetic_pipes(400, seed=3)
    assert registers.replace_register("city", register.pipes, register.breaks,
                                      register.history_years, AT) == 400
    stored = registers.register("city")
    again = make_register(stored.pipes, stored.breaks, stored.history_years)
    pd.testing.assert_frame_equal(again.pipes.drop(columns="system"),
                                  register.pipes.drop(columns="system"))
    assert len(again.breaks) == len(register.breaks)
    assert stored.history_years == register.history_years
    assert registers.systems() == ["city"]
    # a second import replaces the first, other systems untouched
    small = synthetic_pipes(10, seed=4)
    registers.replace_register("town", small.pipes, small.breaks, small.history_years, AT)
    registers.replace_register("city", small.pipes, small.breaks, (2020, 2025), AT)
    assert len(registers.register("city").pipes) == 10
    assert registers.register("city").history_years == (2020, 2025)
    page, total, counts = registers.pipes_page("town", 3, 2)
    assert total == 10 and list(page.index) == sorted(small.pipes.index)[2:5]
    assert sum(counts.values()) <= len(small.breaks)
    with pytest.raises(RecordNotFoundError):
        registers.register("nowhere")


def test_a_bad_break_stores_nothing(store: TelemetryStore) -> None:
    registers = PipeRegisterStore(store.engine)
    register = synthetic_pipes(20, seed=3)
    registers.replace_register("city", register.pipes, register.breaks,
                               register.history_years, AT)
    bad = pd.DataFrame({"pipe_id": ["not-a-pipe"], "date": [pd.Timestamp("2020-01-01")],
                        "kind": ["break"]})
    other = synthetic_pipes(5, seed=9)
    with pytest.raises(RegisterError):
        registers.replace_register("city", other.pipes, bad, (2011, 2025), AT)
    # the old register is still whole
    assert len(registers.register("city").pipes) == 20
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM register_breaks")).scalar_one() == len(
            register.breaks)


def test_plan_round_trip_with_audit(store: TelemetryStore) -> None:
    accounts = AccountsStore(store.engine)
    planner = accounts.create_user("planner1", "not-a-real-hash", Role.PLANNER, at=AT)
    registers = PipeRegisterStore(store.engine)
    candidates = pd.DataFrame({"road_id": ["A", "A", "B"], "length_m": [10.0, 20.0, 30.0],
                               "cost_yuan": [1.0, 2.0, 3.0],
                               "risk_yuan_per_year": [5.0, 1.0, 2.0]}, index=["p1", "p2", "p3"])
    plan = plan_renewal(candidates, RenewalOptions((3.0, 3.0)))
    summary = {"method": plan.method, "status": plan.status, "start_year": 2027,
               "options": {"budgets_yuan": [3.0, 3.0]},
               "years": plan.years.to_dict("records"),
               "risk_reduction_yuan": plan.risk_reduction_yuan, "cost_yuan": plan.cost_yuan,
               "mip_gap": plan.mip_gap, "solve_time_s": plan.solve_time_s}
    plan_id = registers.save_plan("city", "plan A", summary, plan.pipes, AT, planner)
    stored = registers.plan(plan_id)
    assert stored.name == "plan A" and stored.created_by == planner.id
    assert stored.risk_reduction_yuan == pytest.approx(plan.risk_reduction_yuan)
    pd.testing.assert_frame_equal(stored.pipes, plan.pipes, check_dtype=False)
    assert stored.years[0]["budget_yuan"] == 3.0
    assert [p.id for p in registers.plans("city")] == [plan_id]
    with store.engine.connect() as conn:
        actions = conn.execute(sa.select(audit_log.c.action)).scalars().all()
    assert "renewal_plan.create" in actions
    with pytest.raises(RecordNotFoundError):
        registers.plan(plan_id + 1)
