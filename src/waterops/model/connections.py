"""Connection applications (用水报装): stages, process templates, the declared state machine.

A new customer's connection goes through the stages a utility's counter knows::

    application ──accept──> acceptance_survey ──survey_done──> design_quote
    (online form + one document)                  (express: straight to meter_installation)
    design_quote ──accept_quote (applicant)──> construction        (external works needed)
                                          └──> meter_installation   (no external works)
    construction ──construction_done──> meter_installation ──turn_water_on──> water_on

and, from any open stage: ``pause`` (waiting for the applicant: the SLA clock stops) and
``resume`` (back to the stage it was paused in), ``withdraw`` (the applicant gives up);
``reject`` while the application is still being assessed. ``water_on``, ``rejected`` and
``withdrawn`` are final.

Each :class:`ProcessTemplate` declares its own transition table (:attr:`transitions`) and a
promise per stage in working days. Any (state, action) pair not in the table is refused with
:class:`~waterops.errors.ConnectionTransitionError`. The applicant has two steps in the
standard process — apply, then accept the quote — and one in the express process.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from waterops.errors import ConnectionApplicationError, ConnectionTransitionError


class ConnectionState(enum.StrEnum):
    """Where an application stands."""

    APPLICATION = "application"
    ACCEPTANCE_SURVEY = "acceptance_survey"
    DESIGN_QUOTE = "design_quote"
    CONSTRUCTION = "construction"
    METER_INSTALLATION = "meter_installation"
    WATER_ON = "water_on"
    PAUSED = "paused"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


WORK_STAGES = (
    ConnectionState.APPLICATION,
    ConnectionState.ACCEPTANCE_SURVEY,
    ConnectionState.DESIGN_QUOTE,
    ConnectionState.CONSTRUCTION,
    ConnectionState.METER_INSTALLATION,
)
"""Stages in which somebody works on the application (each has an SLA clock)."""

FINAL_STATES = frozenset(
    {
        ConnectionState.WATER_ON,
        ConnectionState.REJECTED,
        ConnectionState.WITHDRAWN,
    }
)


class ConnectionAction(enum.StrEnum):
    """What moves an application."""

    ACCEPT = "accept"
    SURVEY_DONE = "survey_done"
    ACCEPT_QUOTE = "accept_quote"
    CONSTRUCTION_DONE = "construction_done"
    TURN_WATER_ON = "turn_water_on"
    PAUSE = "pause"
    RESUME = "resume"
    REJECT = "reject"
    WITHDRAW = "withdraw"


class Actor(enum.StrEnum):
    """Who may take an action: the applicant, the utility's staff, or either."""

    APPLICANT = "applicant"
    STAFF = "staff"
    EITHER = "either"


class TemplateName(enum.StrEnum):
    """The process templates a utility offers."""

    STANDARD = "standard"
    EXPRESS = "express"
    ENTERPRISE_PARK = "enterprise_park"


@dataclass(frozen=True)
class Transition:
    """One declared move: ``source --action--> target``.

    ``external_works`` restricts it to applications that need (True) or do not need (False)
    external works; None: both. ``target`` None is "back to the stage it was paused in".
    """

    source: ConnectionState
    action: ConnectionAction
    target: ConnectionState | None
    actor: Actor
    external_works: bool | None = None


S, A = ConnectionState, ConnectionAction


def _common(
    stages: tuple[ConnectionState, ...], assessed: tuple[ConnectionState, ...]
) -> tuple[Transition, ...]:
    """Pause, withdraw and reject moves shared by every template."""
    moves = [
        Transition(S.PAUSED, A.RESUME, None, Actor.STAFF),
        Transition(S.PAUSED, A.WITHDRAW, S.WITHDRAWN, Actor.APPLICANT),
    ]
    for stage in stages:
        moves.append(Transition(stage, A.PAUSE, S.PAUSED, Actor.STAFF))
        moves.append(Transition(stage, A.WITHDRAW, S.WITHDRAWN, Actor.APPLICANT))
    moves += [Transition(stage, A.REJECT, S.REJECTED, Actor.STAFF) for stage in assessed]
    return tuple(moves)


_STANDARD_PATH = (
    Transition(S.APPLICATION, A.ACCEPT, S.ACCEPTANCE_SURVEY, Actor.STAFF),
    Transition(S.ACCEPTANCE_SURVEY, A.SURVEY_DONE, S.DESIGN_QUOTE, Actor.STAFF),
    Transition(S.DESIGN_QUOTE, A.ACCEPT_QUOTE, S.CONSTRUCTION, Actor.APPLICANT, True),
    Transition(S.DESIGN_QUOTE, A.ACCEPT_QUOTE, S.METER_INSTALLATION, Actor.APPLICANT, False),
    Transition(S.CONSTRUCTION, A.CONSTRUCTION_DONE, S.METER_INSTALLATION, Actor.STAFF),
    Transition(S.METER_INSTALLATION, A.TURN_WATER_ON, S.WATER_ON, Actor.STAFF),
)
_EXPRESS_PATH = (
    Transition(S.APPLICATION, A.ACCEPT, S.ACCEPTANCE_SURVEY, Actor.STAFF),
    Transition(S.ACCEPTANCE_SURVEY, A.SURVEY_DONE, S.METER_INSTALLATION, Actor.STAFF),
    Transition(S.METER_INSTALLATION, A.TURN_WATER_ON, S.WATER_ON, Actor.STAFF),
)
_ASSESSED = (S.APPLICATION, S.ACCEPTANCE_SURVEY, S.DESIGN_QUOTE)


@dataclass(frozen=True)
class ProcessTemplate:
    """A connection process: its stages, promises and declared transitions.

    Attributes
    ----------
    name : the template's name
    title : how the counter calls it
    stage_sla_days : promise per work stage [working days]
    end_to_end_sla_days : promise from application to water on, pauses excluded [working days]
    applicant_steps : how many times the applicant has to act (apply counts as one)
    allows_external_works : whether an application may need external works
    needs_park : whether an industrial park must be named
    transitions : the declared state machine
    """

    name: TemplateName
    title: str
    stage_sla_days: Mapping[ConnectionState, float]
    end_to_end_sla_days: float
    applicant_steps: int
    allows_external_works: bool
    needs_park: bool
    transitions: tuple[Transition, ...]

    def allowed(self, state: ConnectionState, external_works: bool) -> tuple[Transition, ...]:
        """The moves declared from ``state`` for an application with/without external works."""
        return tuple(
            t
            for t in self.transitions
            if t.source == state and t.external_works in (None, external_works)
        )

    def stages(self, external_works: bool) -> tuple[ConnectionState, ...]:
        """The work stages an application of this template goes through, in order."""
        return tuple(
            s
            for s in WORK_STAGES
            if s in self.stage_sla_days and (external_works or s != S.CONSTRUCTION)
        )


TEMPLATES: dict[TemplateName, ProcessTemplate] = {
    TemplateName.STANDARD: ProcessTemplate(
        TemplateName.STANDARD,
        "Standard connection (2 steps, 1 document, ≤ 30 working days)",
        {
            S.APPLICATION: 1,
            S.ACCEPTANCE_SURVEY: 3,
            S.DESIGN_QUOTE: 5,
            S.CONSTRUCTION: 15,
            S.METER_INSTALLATION: 3,
        },
        30,
        2,
        True,
        False,
        _STANDARD_PATH + _common(WORK_STAGES, _ASSESSED),
    ),
    TemplateName.EXPRESS: ProcessTemplate(
        TemplateName.EXPRESS,
        "Express: apply today, water tomorrow (no external works)",
        {S.APPLICATION: 0.25, S.ACCEPTANCE_SURVEY: 0.25, S.METER_INSTALLATION: 0.5},
        1,
        1,
        False,
        False,
        _EXPRESS_PATH
        + _common(
            (S.APPLICATION, S.ACCEPTANCE_SURVEY, S.METER_INSTALLATION),
            (S.APPLICATION, S.ACCEPTANCE_SURVEY),
        ),
    ),
    TemplateName.ENTERPRISE_PARK: ProcessTemplate(
        TemplateName.ENTERPRISE_PARK,
        "Enterprise in an industrial park (park mains in place)",
        {
            S.APPLICATION: 1,
            S.ACCEPTANCE_SURVEY: 2,
            S.DESIGN_QUOTE: 3,
            S.CONSTRUCTION: 10,
            S.METER_INSTALLATION: 2,
        },
        20,
        2,
        True,
        True,
        _STANDARD_PATH + _common(WORK_STAGES, _ASSESSED),
    ),
}
"""The process templates (promises are the utility's own, configurable, not law)."""


def template(name: str) -> ProcessTemplate:
    """The template called ``name``, or a :class:`ConnectionApplicationError`."""
    try:
        return TEMPLATES[TemplateName(name)]
    except ValueError:
        known = ", ".join(TEMPLATES)
        raise ConnectionApplicationError(
            f"unknown connection process {name!r}; known: {known}"
        ) from None


def check_new_application(tpl: ProcessTemplate, external_works: bool, park_id: str | None) -> None:
    """Refuse an application its template cannot carry (express with external works …)."""
    if external_works and not tpl.allows_external_works:
        raise ConnectionApplicationError(
            f"the {tpl.name} process is for connections without external works; "
            "apply with the standard process"
        )
    if tpl.needs_park and not park_id:
        raise ConnectionApplicationError(f"the {tpl.name} process needs the industrial park")


def next_state(
    tpl: ProcessTemplate,
    state: ConnectionState,
    action: ConnectionAction,
    *,
    external_works: bool,
    paused_from: ConnectionState | None = None,
    by_applicant: bool,
    application_id: int | None = None,
) -> ConnectionState:
    """The state after ``action``, or a :class:`ConnectionTransitionError`.

    Parameters
    ----------
    tpl : the application's template
    state : its state now
    action : the action asked for
    external_works : whether it needs external works
    paused_from : the stage it was paused in (for ``resume``)
    by_applicant : whether the applicant (True) or staff (False) asks
    application_id : for the error message
    """
    moves = tpl.allowed(state, external_works)
    who = Actor.APPLICANT if by_applicant else Actor.STAFF
    permitted = tuple(t for t in moves if t.actor in (who, Actor.EITHER))
    for move in permitted:
        if move.action == action:
            if move.target is not None:
                return move.target
            if paused_from is None:
                raise ConnectionApplicationError(
                    f"application {application_id} is paused but its stage is not known"
                )
            return paused_from
    raise ConnectionTransitionError(
        application_id,
        state.value,
        action.value,
        tuple(dict.fromkeys(t.action.value for t in permitted)),
    )
