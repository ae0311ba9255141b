"""The alarm state machine: every declared transition works, every other one is refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from waterops.errors import AlarmError, AlarmTransitionError
from waterops.model.alarms import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    Alarm,
    AlarmAction,
    AlarmState,
    Cause,
    Severity,
    allowed_actions,
    most_severe,
    next_state,
    parse_cause,
)

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def _alarm(state: AlarmState) -> Alarm:
    return Alarm(7, "low_pressure", "P-1", "pressure>=14.3", Severity.MAJOR, state, T0, T0)


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS, key=str))
def test_every_declared_transition_gives_its_state(state: AlarmState,
                                                   action: AlarmAction) -> None:
    later = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    after = _alarm(state).apply(action, later)
    assert after.state is TRANSITIONS[(state, action)]
    assert after.updated_at == later and after.raised_at == T0


INVALID = [(s, a) for s, a in itertools.product(AlarmState, AlarmAction)
           if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), INVALID)
def test_every_other_transition_is_a_typed_error(state: AlarmState, action: AlarmAction) -> None:
    with pytest.raises(AlarmTransitionError) as caught:
        _alarm(state).apply(action, T0)
    message = str(caught.value)
    assert "alarm 7" in message and state.value in message and action.value in message
    assert caught.value.allowed == tuple(a.value for a in allowed_actions(state))


def test_the_machine_has_the_expected_shape() -> None:
    # 13 allowed pairs out of 6 x 7: a change here must be a decision, not an accident
    assert len(TRANSITIONS) == 13 and len(INVALID) == 29
    for final in FINAL_STATES:
        assert allowed_actions(final) == ()
    # raise is never a transition: a new alarm is created raised
    assert all(a is not AlarmAction.RAISE for (_, a) in TRANSITIONS)
    # every open state can be resolved and cleared; nothing acknowledges twice
    for state in OPEN_STATES:
        assert next_state(1, state, AlarmAction.RESOLVE) is AlarmState.RESOLVED
        assert next_state(1, state, AlarmAction.CLEAR) is AlarmState.CLEARED
    assert (AlarmState.ACKNOWLEDGED, AlarmAction.ACKNOWLEDGE) not in TRANSITIONS
    assert "closed for good" in str(AlarmTransitionError(3, "resolved", "assign", ()))


def test_severities_rank_and_say_what_to_do() -> None:
    assert most_severe([Severity.MINOR, Severity.CRITICAL, Severity.WARNING]) is Severity.CRITICAL
    assert most_severe([]) is Severity.WARNING
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
    assert "crew within the hour" in Severity.MAJOR.meaning
    assert "no dispatch" in Severity.WARNING.meaning


def test_cause_codes_parse_case_insensitively_and_unknown_ones_are_errors() -> None:
    assert parse_cause(" Booster_Fault ") is Cause.BOOSTER_FAULT
    with pytest.raises(AlarmError, match=r"unknown cause code 'gremlins'.*pipe_burst"):
        parse_cause("gremlins")
