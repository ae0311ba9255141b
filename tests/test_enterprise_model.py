"""Enterprise problems: the declared state machine, every pair of state and action; rates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waterops.errors import EnterpriseError, ProblemTransitionError
from waterops.model.enterprises import (
    PROBLEM_TRANSITIONS,
    Problem,
    ProblemAction,
    ProblemState,
    allowed_actions,
    check_satisfaction,
    next_problem_state,
    service_rates,
)

T = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize("state", list(ProblemState))
@pytest.mark.parametrize("action", list(ProblemAction))
def test_every_state_action_pair_is_declared_or_refused(state: ProblemState,
                                                        action: ProblemAction) -> None:
    target = PROBLEM_TRANSITIONS.get((state, action))
    if target is None:
        with pytest.raises(ProblemTransitionError) as caught:
            next_problem_state(state, action, problem_id=7, reason="r")
        assert caught.value.state == state.value
        assert "enterprise problem 7" in str(caught.value)
        assert caught.value.allowed == tuple(a.value for a in allowed_actions(state))
    else:
        assert next_problem_state(state, action, problem_id=7, reason="r") == target


def test_the_path_to_closure_and_final_states() -> None:
    state = ProblemState.OPEN
    for action in (ProblemAction.START, ProblemAction.RECTIFY, ProblemAction.REOPEN,
                   ProblemAction.RECTIFY, ProblemAction.VERIFY):
        state = next_problem_state(state, action, problem_id=1)
    assert state == ProblemState.CLOSED
    assert allowed_actions(ProblemState.CLOSED) == ()
    assert allowed_actions(ProblemState.NOT_RECTIFIABLE) == ()


def test_not_rectifiable_needs_a_reason() -> None:
    with pytest.raises(EnterpriseError, match="needs a reason"):
        next_problem_state(ProblemState.OPEN, ProblemAction.DECLARE_NOT_RECTIFIABLE,
                           problem_id=3, reason="  ")


def test_satisfaction_scores_are_1_to_5() -> None:
    assert check_satisfaction(None) is None
    assert check_satisfaction(5) == 5
    for bad in (0, 6, -1):
        with pytest.raises(EnterpriseError, match="between 1 and 5"):
            check_satisfaction(bad)


def _problem(i: int, state: ProblemState, score: int | None) -> Problem:
    return Problem(i, 1, None, 1, f"p{i}", "", state, "", score, T, T, None, None)


def test_rates_on_a_hand_made_set() -> None:
    rates = service_rates([
        _problem(1, ProblemState.CLOSED, 5),
        _problem(2, ProblemState.RECTIFIED, None),
        _problem(3, ProblemState.NOT_RECTIFIABLE, 2),
        _problem(4, ProblemState.OPEN, None),
        _problem(5, ProblemState.CLOSED, 4),
    ])
    assert (rates.problems_raised, rates.problems_rectified) == (5, 3)
    assert (rates.problems_rated, rates.problems_satisfied) == (3, 2)
    assert rates.rectification_rate == pytest.approx(0.6)
    assert rates.satisfaction_rate == pytest.approx(2 / 3)
    empty = service_rates([])
    assert empty.rectification_rate is None and empty.satisfaction_rate is None
