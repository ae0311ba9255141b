"""The complaint state machine, satisfaction survey and role table (pure)."""

from __future__ import annotations

import itertools

import pytest

from waterops.errors import ComplaintError, ComplaintTransitionError
from waterops.model.accounts import CUSTOMER_ROLES, Role
from waterops.model.complaints import (
    TRANSITIONS,
    Ability,
    ComplaintAction,
    ComplaintState,
    allowed_actions,
    can,
    check_survey,
    next_state,
)

ALL_PAIRS = list(itertools.product(ComplaintState, ComplaintAction))
VALID = [(s, a) for s, a in ALL_PAIRS if a in TRANSITIONS[s]]
INVALID = [(s, a) for s, a in ALL_PAIRS if a not in TRANSITIONS[s]]


def test_every_state_is_declared_and_reachable() -> None:
    assert set(TRANSITIONS) == set(ComplaintState)
    reached = {ComplaintState.RECEIVED}
    frontier = [ComplaintState.RECEIVED]
    while frontier:
        for target in TRANSITIONS[frontier.pop()].values():
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(ComplaintState)


def test_the_main_road() -> None:
    state = ComplaintState.RECEIVED
    for action in ("diagnose", "reply", "log_callback", "close", "reopen", "diagnose"):
        state = next_state(state, ComplaintAction(action), 7)
    assert state is ComplaintState.DIAGNOSED


@pytest.mark.parametrize(("state", "action"), VALID)
def test_valid_transitions(state: ComplaintState, action: ComplaintAction) -> None:
    assert next_state(state, action) is TRANSITIONS[state][action]


@pytest.mark.parametrize(("state", "action"), INVALID)
def test_invalid_transitions_are_typed_errors(state: ComplaintState,
                                              action: ComplaintAction) -> None:
    with pytest.raises(ComplaintTransitionError) as caught:
        next_state(state, action, 42)
    err = caught.value
    assert (err.complaint_id, err.state, err.action) == (42, state.value, action.value)
    assert err.allowed == tuple(a.value for a in allowed_actions(state))
    assert f"complaint 42 is {state.value}: cannot {action.value}" in str(err)


def test_invalid_pairs_are_the_majority() -> None:
    # 8 states x 7 actions; a table that allowed everything would make the test above empty
    assert len(INVALID) == 56 - len(VALID) and len(VALID) == 15


def test_survey_only_after_closing_once_and_in_range() -> None:
    check_survey(1, ComplaintState.CLOSED, 5, already_answered=False)
    with pytest.raises(ComplaintError, match="after it is closed"):
        check_survey(1, ComplaintState.CALLBACK_DONE, 5, already_answered=False)
    with pytest.raises(ComplaintError, match="already answered"):
        check_survey(1, ComplaintState.CLOSED, 4, already_answered=True)
    for bad in (0, 6, -1):
        with pytest.raises(ComplaintError, match="not within 1-5"):
            check_survey(1, ComplaintState.CLOSED, bad, already_answered=False)


def test_roles() -> None:
    assert can(Role.SERVICE_AGENT, Ability.TAKE_PHONE)
    assert can(Role.DISPATCHER, Ability.ISSUE_NOTICES)
    assert not can(Role.SERVICE_AGENT, Ability.ISSUE_NOTICES)
    assert not can(Role.FIELD_CREW, Ability.TAKE_PHONE)
    for role in CUSTOMER_ROLES:
        assert not any(can(role, a) for a in Ability)
