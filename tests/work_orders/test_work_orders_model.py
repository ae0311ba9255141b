"""Work orders (pure): the state machine and the SLA clock, with cases worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waterops.errors import WorkOrderError, WorkOrderTransitionError
from waterops.model.accounts import Role
from waterops.model.work_orders import (
    FINAL_STATES,
    TRANSITIONS,
    Ability,
    Material,
    Priority,
    SlaPolicy,
    SlaTarget,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
    allowed_actions,
    can,
    due_times,
    next_state,
    sla_clock,
)

S, A = WorkOrderState, WorkOrderAction
T0 = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)  # Monday 02:00 Beijing time: a night burst


def test_the_happy_path_of_a_burst_repair() -> None:
    state = S.CREATED
    for action, expected in [(A.ASSIGN, S.ASSIGNED), (A.DEPART, S.EN_ROUTE),
                             (A.ARRIVE, S.ON_SITE), (A.REPAIR, S.REPAIRED),
                             (A.CLOSE, S.CLOSED)]:
        state = next_state(1, state, action)
        assert state is expected


def test_refused_moves_name_the_order_the_state_and_what_is_allowed() -> None:
    with pytest.raises(WorkOrderTransitionError) as err:
        next_state(7, S.CREATED, A.ARRIVE)
    assert str(err.value) == "work order 7 is created: cannot arrive it; it allows assign, cancel"
    with pytest.raises(WorkOrderTransitionError, match="closed for good"):
        next_state(7, S.CLOSED, A.ASSIGN)
    # a crew on site cannot be re-assigned or the order cancelled: the job is under way
    for action in (A.ASSIGN, A.CANCEL):
        with pytest.raises(WorkOrderTransitionError):
            next_state(7, S.ON_SITE, action)


@given(st.lists(st.sampled_from(list(WorkOrderAction)), max_size=30))
def test_any_sequence_of_actions_stays_in_the_machine(actions: list[WorkOrderAction]) -> None:
    """Property: refused actions change nothing; final states are never left; ``closed`` is
    only reached through ``on_site`` (nobody closes a job nobody went to)."""
    state, visited = S.CREATED, [S.CREATED]
    for action in actions:
        if action in allowed_actions(state):
            state = next_state(1, state, action)
            visited.append(state)
        else:
            with pytest.raises(WorkOrderTransitionError):
                next_state(1, state, action)
    for i, s in enumerate(visited):
        if s in FINAL_STATES:
            assert all(v is s for v in visited[i:])
    if S.CLOSED in visited:
        assert S.ON_SITE in visited[:visited.index(S.CLOSED)]


def test_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(WorkOrderState)
    assert all(not TRANSITIONS[s] for s in FINAL_STATES)


def test_default_targets_by_hand() -> None:
    policy = SlaPolicy()
    # a burst on a DN80 main: emergency on site 45 min, repaired 24 h (common figures)
    burst = policy.target(WorkOrderKind.PIPE_BURST, Priority.EMERGENCY, 80)
    assert (burst.on_site_s, burst.fixed_s) == (45 * 60, 24 * 3600)
    assert "DN100" in burst.basis and "common figures" in burst.basis
    # the same on a DN300 main: no published repair figure, nothing promised by default
    big = policy.target(WorkOrderKind.PIPE_BURST, Priority.EMERGENCY, 300)
    assert (big.on_site_s, big.fixed_s) == (45 * 60, None)
    # DN100 itself is not "under DN100"
    assert policy.target(WorkOrderKind.PIPE_BURST, Priority.URGENT, 100).fixed_s is None
    # a pump-room fault: on site 2 h, fixed 4 h
    room = policy.target(WorkOrderKind.PUMP_ROOM, Priority.URGENT)
    assert (room.on_site_s, room.fixed_s) == (7200, 14400)
    # an urgent meter job: 90 min on site
    assert policy.target(WorkOrderKind.METER, Priority.URGENT).on_site_s == 5400


def test_a_policy_is_configurable() -> None:
    policy = SlaPolicy(targets={WorkOrderKind.VALVE: SlaTarget(1800, 7200, "our pledge")},
                       emergency_on_site_s=1200, small_main_repair_s=12 * 3600)
    t = policy.target(WorkOrderKind.VALVE, Priority.EMERGENCY)
    assert (t.on_site_s, t.fixed_s) == (1200, 7200)
    with pytest.raises(WorkOrderError, match="no target for work orders of kind 'leak'"):
        policy.target(WorkOrderKind.LEAK, Priority.URGENT)
    with pytest.raises(WorkOrderError):
        SlaTarget(3600, 1800, "fixed before on site")


def test_sla_clock_worked_by_hand() -> None:
    """A DN80 burst reported Monday 02:00 local (18:00 UTC Sunday): on site due 02:45,
    fixed due Tuesday 02:00, both wall-clock (night and weekend count)."""
    target = SlaPolicy().target(WorkOrderKind.PIPE_BURST, Priority.EMERGENCY, 80)
    on_due, fix_due = due_times(T0, target)
    assert on_due == datetime(2026, 12, 6, 18, 45, tzinfo=UTC)
    assert fix_due == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    # 02:30 local: 15 min left on site, 23.5 h to fix
    c = sla_clock(T0, on_due, fix_due, T0 + timedelta(minutes=30))
    assert (c.on_site_remaining_s, c.fixed_remaining_s) == (900, 23.5 * 3600)
    assert not c.breached
    # 02:50 and nobody there: on site breached by 5 min
    c = sla_clock(T0, on_due, fix_due, T0 + timedelta(minutes=50))
    assert c.on_site_breached and c.on_site_remaining_s == -300
    # the crew arrived 02:40: met, whatever the time now; fixed 04:10: met
    c = sla_clock(T0, on_due, fix_due, T0 + timedelta(days=3),
                  on_site_at=T0 + timedelta(minutes=40), fixed_at=T0 + timedelta(hours=2.2))
    assert not c.breached and c.on_site_remaining_s is None and c.fixed_remaining_s is None
    # arrived 02:46 (1 min late) and repaired after 25 h: both breached
    c = sla_clock(T0, on_due, fix_due, T0 + timedelta(days=3),
                  on_site_at=T0 + timedelta(minutes=46), fixed_at=T0 + timedelta(hours=25))
    assert c.on_site_breached and c.fixed_breached
    # cancelled before the due time: the clock stops
    c = sla_clock(T0, on_due, fix_due, T0 + timedelta(days=3), cancelled=True)
    assert not c.breached


def test_roles() -> None:
    assert can(Role.DISPATCHER, Ability.DISPATCH)
    assert can(Role.FIELD_CREW, Ability.FIELD) and not can(Role.FIELD_CREW, Ability.READ_ALL)
    assert not can(Role.FIELD_CREW, Ability.DISPATCH)
    for customer in (Role.HOUSEHOLD_CUSTOMER, Role.ENTERPRISE_CUSTOMER):
        assert not any(can(customer, a) for a in Ability)


def test_materials_need_a_positive_quantity_and_a_unit() -> None:
    assert Material("DN80 repair clamp", 1, "pcs").quantity == 1
    with pytest.raises(WorkOrderError, match="quantity"):
        Material("PE pipe", 0, "m")
    with pytest.raises(WorkOrderError, match="unit"):
        Material("PE pipe", 2, " ")
