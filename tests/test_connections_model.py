"""The connection-application state machine: every (state, action, actor) pair of every
template is either a declared transition or a typed error; the templates keep their promises."""

from __future__ import annotations

import itertools

import pytest

from waterops.errors import ConnectionApplicationError, ConnectionTransitionError
from waterops.model.connections import (
    FINAL_STATES,
    TEMPLATES,
    Actor,
    ConnectionAction,
    ConnectionState,
    ProcessTemplate,
    TemplateName,
    check_new_application,
    next_state,
    template,
)

S, A = ConnectionState, ConnectionAction
CASES = [
    (tpl, works)
    for tpl, works in itertools.product(TEMPLATES.values(), (False, True))
    if works is False or tpl.allows_external_works
]


def _declared(tpl: ProcessTemplate, state: S, action: A, works: bool, applicant: bool) -> S | None:
    for t in tpl.transitions:
        if (
            (t.source, t.action) == (state, action)
            and t.external_works in (None, works)
            and t.actor in ((Actor.APPLICANT if applicant else Actor.STAFF), Actor.EITHER)
        ):
            return t.target if t.target is not None else S.DESIGN_QUOTE
    return None


@pytest.mark.parametrize(("tpl", "works"), CASES, ids=lambda v: str(getattr(v, "name", v)))
def test_every_pair_is_declared_or_refused(tpl: ProcessTemplate, works: bool) -> None:
    for state, action, applicant in itertools.product(S, A, (False, True)):
        expected = _declared(tpl, state, action, works, applicant)
        if expected is None:
            with pytest.raises(ConnectionTransitionError) as err:
                next_state(
                    tpl,
                    state,
                    action,
                    external_works=works,
                    paused_from=S.DESIGN_QUOTE,
                    by_applicant=applicant,
                    application_id=7,
                )
            assert err.value.state == state.value and err.value.action == action.value
            assert action.value not in err.value.allowed
        else:
            got = next_state(
                tpl,
                state,
                action,
                external_works=works,
                paused_from=S.DESIGN_QUOTE,
                by_applicant=applicant,
            )
            assert got == expected


@pytest.mark.parametrize(("tpl", "works"), CASES, ids=lambda v: str(getattr(v, "name", v)))
def test_final_states_allow_nothing(tpl: ProcessTemplate, works: bool) -> None:
    for state in FINAL_STATES:
        assert tpl.allowed(state, works) == ()


@pytest.mark.parametrize(("tpl", "works"), CASES, ids=lambda v: str(getattr(v, "name", v)))
def test_the_main_path_reaches_water_on_through_the_templates_stages(
    tpl: ProcessTemplate, works: bool
) -> None:
    state, visited, applicant_steps = S.APPLICATION, [S.APPLICATION], 1
    while state != S.WATER_ON:
        forward = [
            t for t in tpl.allowed(state, works) if t.action not in (A.PAUSE, A.WITHDRAW, A.REJECT)
        ]
        assert len(forward) == 1, f"{state}: one way forward"
        applicant_steps += forward[0].actor == Actor.APPLICANT
        state = next_state(
            tpl,
            state,
            forward[0].action,
            external_works=works,
            by_applicant=forward[0].actor == Actor.APPLICANT,
        )
        visited.append(state)
    assert tuple(visited[:-1]) == tpl.stages(works)
    assert (S.CONSTRUCTION in visited) == works
    assert applicant_steps == tpl.applicant_steps


def test_promises() -> None:
    standard = template("standard")
    assert sum(standard.stage_sla_days.values()) <= standard.end_to_end_sla_days == 30
    express = template("express")
    assert sum(express.stage_sla_days.values()) <= express.end_to_end_sla_days == 1
    assert S.CONSTRUCTION not in express.stage_sla_days
    park = template(TemplateName.ENTERPRISE_PARK)
    assert sum(park.stage_sla_days.values()) <= park.end_to_end_sla_days


def test_pause_and_resume_return_to_the_stage() -> None:
    tpl = template("standard")
    for stage in tpl.stages(True):
        assert next_state(tpl, stage, A.PAUSE, external_works=True, by_applicant=False) == S.PAUSED
        assert (
            next_state(
                tpl, S.PAUSED, A.RESUME, external_works=True, paused_from=stage, by_applicant=False
            )
            == stage
        )
    with pytest.raises(ConnectionApplicationError, match="not known"):
        next_state(tpl, S.PAUSED, A.RESUME, external_works=True, by_applicant=False)


def test_new_applications_are_checked_against_their_template() -> None:
    with pytest.raises(ConnectionApplicationError, match="unknown connection process"):
        template("overnight")
    with pytest.raises(ConnectionApplicationError, match="without external works"):
        check_new_application(template("express"), True, None)
    with pytest.raises(ConnectionApplicationError, match="park"):
        check_new_application(template("enterprise_park"), False, None)
    check_new_application(template("enterprise_park"), True, "park-1")
