"""Complaints and repair requests (投诉/报修): categories, channels, the state machine (pure).

A complaint arrives through one of three channels (the web portal, an agent taking a phone
call, a messaging-app style API), is diagnosed automatically from data, answered, called back
by an agent, and closed; the customer may then rate the service (满意度回访). Every change of
state is a transition declared in :data:`TRANSITIONS`; anything else is a
:class:`~waterops.errors.ComplaintTransitionError` naming the complaint, its state and what
its state allows::

    received --diagnose--> diagnosed --reply--> replied --log_callback--> callback_done
        --close--> closed --reopen--> reopened --diagnose--> diagnosed …

with two side roads: ``escalate`` (a work order is needed, 派单) and ``merge`` (the complaint
joins an incident other complaints already reported: one cause, one repair).

Who may do what is data too (:data:`STAFF_ABILITIES`): customers file and read their own;
service agents take phone complaints, read all and log callbacks; dispatchers also escalate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from waterops.errors import ComplaintError, ComplaintTransitionError
from waterops.model.accounts import Role


class ComplaintCategory(enum.StrEnum):
    """What the customer complains about."""

    LOW_PRESSURE = "low_pressure"
    NO_WATER = "no_water"
    WATER_QUALITY = "water_quality"
    LEAK = "leak"
    BILLING = "billing"
    METER = "meter"


NETWORK_CATEGORIES = frozenset({
    ComplaintCategory.LOW_PRESSURE, ComplaintCategory.NO_WATER,
    ComplaintCategory.WATER_QUALITY, ComplaintCategory.LEAK,
})
"""Categories whose cause is in the network (diagnosed from telemetry; grouped by cause)."""

CATEGORY_TITLES: dict[ComplaintCategory, tuple[str, str]] = {
    ComplaintCategory.LOW_PRESSURE: ("low pressure", "水压低"),
    ComplaintCategory.NO_WATER: ("no water", "停水"),
    ComplaintCategory.WATER_QUALITY: ("water quality", "水质"),
    ComplaintCategory.LEAK: ("leak", "漏水"),
    ComplaintCategory.BILLING: ("billing", "水费"),
    ComplaintCategory.METER: ("meter", "水表"),
}
"""(English, zh-CN) name of each category."""


class Channel(enum.StrEnum):
    """How the complaint came in."""

    WEB = "web"
    PHONE = "phone"  # an agent took the call and typed it in
    MESSAGING = "messaging"  # a messaging-app style API (公众号/小程序)


class ComplaintState(enum.StrEnum):
    """Where a complaint is."""

    RECEIVED = "received"
    DIAGNOSED = "diagnosed"
    REPLIED = "replied"
    CALLBACK_DONE = "callback_done"
    CLOSED = "closed"
    ESCALATED = "escalated"
    MERGED = "merged"
    REOPENED = "reopened"


class ComplaintAction(enum.StrEnum):
    """What can be done to a complaint."""

    DIAGNOSE = "diagnose"
    REPLY = "reply"
    LOG_CALLBACK = "log_callback"
    CLOSE = "close"
    ESCALATE = "escalate"
    MERGE = "merge"
    REOPEN = "reopen"


S, A = ComplaintState, ComplaintAction
TRANSITIONS: dict[ComplaintState, dict[ComplaintAction, ComplaintState]] = {
    S.RECEIVED: {A.DIAGNOSE: S.DIAGNOSED},
    S.DIAGNOSED: {A.REPLY: S.REPLIED, A.ESCALATE: S.ESCALATED, A.MERGE: S.MERGED},
    S.REPLIED: {A.LOG_CALLBACK: S.CALLBACK_DONE, A.ESCALATE: S.ESCALATED, A.MERGE: S.MERGED},
    # a merged complaint follows its incident; the customer still gets their callback
    S.MERGED: {A.LOG_CALLBACK: S.CALLBACK_DONE, A.ESCALATE: S.ESCALATED},
    # a work order is out: the agent calls back, and closes once the crew reports
    S.ESCALATED: {A.LOG_CALLBACK: S.CALLBACK_DONE, A.CLOSE: S.CLOSED},
    S.CALLBACK_DONE: {A.CLOSE: S.CLOSED, A.ESCALATE: S.ESCALATED},
    S.CLOSED: {A.REOPEN: S.REOPENED},
    S.REOPENED: {A.DIAGNOSE: S.DIAGNOSED},
}
"""The declared state machine: state -> action -> next state (nothing else is allowed)."""
del S, A

OPEN_STATES = frozenset(set(ComplaintState) - {ComplaintState.CLOSED})
"""States of a complaint still being worked on."""

CALLBACK_DUE_S = 120.0
"""Time from arrival to the callback an agent owes the customer [s] (2 minutes: the target of
the best operations centres, see GLOSSARY "service times"; a setting, not law)."""

GROUPING_WINDOW_S = 6 * 3600.0
"""Complaints about one cause within this time of the first join its group [s]."""


def allowed_actions(state: ComplaintState) -> tuple[ComplaintAction, ...]:
    """The actions ``state`` allows, in declaration order."""
    return tuple(TRANSITIONS[state])


def next_state(state: ComplaintState, action: ComplaintAction,
               complaint_id: int | None = None) -> ComplaintState:
    """The state after ``action``, or :class:`ComplaintTransitionError`."""
    target = TRANSITIONS[state].get(action)
    if target is None:
        raise ComplaintTransitionError(complaint_id, state.value, action.value,
                                       tuple(a.value for a in allowed_actions(state)))
    return target


# -- satisfaction survey -----------------------------------------------------------------------

SATISFACTION_SCORES = range(1, 6)
"""Scores of the survey: 1 very dissatisfied … 5 very satisfied."""
SATISFIED_FROM = 4
"""Scores from this one up count as satisfied (满意率)."""


def check_survey(complaint_id: int, state: ComplaintState, score: int,
                 already_answered: bool) -> None:
    """Refuse a survey answer before closing, a second answer, or a score outside 1-5."""
    if state is not ComplaintState.CLOSED:
        raise ComplaintError(
            f"complaint {complaint_id} is {state.value}: the satisfaction survey comes after "
            "it is closed")
    if already_answered:
        raise ComplaintError(f"complaint {complaint_id}: the survey was already answered")
    if score not in SATISFACTION_SCORES:
        raise ComplaintError(f"complaint {complaint_id}: score {score} is not within 1-5")


# -- who may do what ---------------------------------------------------------------------------


class Ability(enum.StrEnum):
    """Actions on complaints beyond a customer's own."""

    TAKE_PHONE = "complaints:take_phone"
    READ_ALL = "complaints:read_all"
    HANDLE = "complaints:handle"  # log callbacks, close, reopen
    ESCALATE = "complaints:escalate"
    ISSUE_NOTICES = "notices:issue"
    READ_NOTICES = "notices:read_all"


STAFF_ABILITIES: dict[Role, frozenset[Ability]] = {
    Role.SERVICE_AGENT: frozenset({Ability.TAKE_PHONE, Ability.READ_ALL, Ability.HANDLE,
                                   Ability.ESCALATE, Ability.READ_NOTICES}),
    Role.DISPATCHER: frozenset({Ability.READ_ALL, Ability.ESCALATE, Ability.ISSUE_NOTICES,
                                Ability.READ_NOTICES}),
    Role.FIELD_CREW: frozenset({Ability.READ_ALL, Ability.READ_NOTICES}),
    Role.WATER_QUALITY_ENGINEER: frozenset({Ability.READ_ALL, Ability.READ_NOTICES}),
    Role.PLANNER: frozenset({Ability.READ_NOTICES}),
    Role.ADMINISTRATOR: frozenset(Ability),
}
"""What each staff role may do with complaints and notices (customers: their own only)."""


def can(role: Role, ability: Ability) -> bool:
    """Whether ``role`` has ``ability``."""
    return ability in STAFF_ABILITIES.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class Finding:
    """One fact the automatic diagnosis rests on, in both languages.

    ``source`` says where it comes from (``alarm``, ``telemetry``, ``twin``, ``notice``,
    ``complaints``, ``layout``); ``value``/``unit`` carry a reading if there is one (SI).
    """

    source: str
    text: str
    text_zh: str
    value: float | None = None
    unit: str = ""
