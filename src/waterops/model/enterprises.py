"""Enterprise one-to-one service (企业一对一服务): accounts, visits, problems (pure: no I/O).

An enterprise account is linked to its meters (telemetry sensor ids of flow in m³/s) and its
industrial park, and has a named account manager (a service agent). The manager visits and
logs the topics and the problems raised; each problem is tracked to closure through a
DECLARED state machine (:data:`PROBLEM_TRANSITIONS`)::

    open ──start──▶ in_progress ──rectify──▶ rectified ──verify──▶ closed
      │                 │    ▲                   │
      │                 │    └──────reopen───────┘   (the check on site failed)
      └─declare_not_rectifiable─┴─▶ not_rectifiable  (with a reason)

Rectification rate (整改率) = problems rectified (rectified or closed) / problems raised.
Satisfaction rate (满意率) = problems rated 4 or 5 (satisfied, very satisfied) / problems rated.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from waterops.errors import EnterpriseError, ProblemTransitionError
from waterops.model.accounts import Role, User


class ProblemState(enum.StrEnum):
    """Where a problem raised by an enterprise stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RECTIFIED = "rectified"
    CLOSED = "closed"
    NOT_RECTIFIABLE = "not_rectifiable"


class ProblemAction(enum.StrEnum):
    """What can be done to a problem."""

    START = "start"
    RECTIFY = "rectify"
    VERIFY = "verify"
    REOPEN = "reopen"
    DECLARE_NOT_RECTIFIABLE = "declare_not_rectifiable"


S, A = ProblemState, ProblemAction
PROBLEM_TRANSITIONS: dict[tuple[ProblemState, ProblemAction], ProblemState] = {
    (S.OPEN, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.RECTIFY): S.RECTIFIED,
    (S.RECTIFIED, A.VERIFY): S.CLOSED,
    (S.RECTIFIED, A.REOPEN): S.IN_PROGRESS,
    (S.OPEN, A.DECLARE_NOT_RECTIFIABLE): S.NOT_RECTIFIABLE,
    (S.IN_PROGRESS, A.DECLARE_NOT_RECTIFIABLE): S.NOT_RECTIFIABLE,
}
"""The declared state machine of a problem: (state, action) → next state."""

RECTIFIED_STATES = frozenset({S.RECTIFIED, S.CLOSED})
"""States that count as rectified in the rectification rate."""

SATISFIED_SCORE = 4
"""Lowest satisfaction score (1-5) that counts as satisfied."""


def allowed_actions(state: ProblemState) -> tuple[ProblemAction, ...]:
    """The actions ``state`` allows, in declaration order."""
    return tuple(a for (s, a) in PROBLEM_TRANSITIONS if s == state)


def next_problem_state(state: ProblemState, action: ProblemAction, *, problem_id: int | None,
                       reason: str = "") -> ProblemState:
    """The state after ``action``, or :class:`ProblemTransitionError`.

    Declaring a problem not rectifiable needs a ``reason`` (what stands in the way).
    """
    target = PROBLEM_TRANSITIONS.get((state, action))
    if target is None:
        raise ProblemTransitionError(problem_id, state.value, action.value,
                                     tuple(a.value for a in allowed_actions(state)))
    if action == A.DECLARE_NOT_RECTIFIABLE and not reason.strip():
        raise EnterpriseError(f"enterprise problem {problem_id}: declaring it not rectifiable "
                              "needs a reason")
    return target


def check_satisfaction(score: int | None) -> int | None:
    """``score`` if it is None or 1-5."""
    if score is not None and not 1 <= score <= 5:
        raise EnterpriseError(f"satisfaction score {score} is not between 1 and 5")
    return score


# -- who may do what -----------------------------------------------------------------------------

ACCOUNT_MANAGER_ROLES = frozenset({Role.SERVICE_AGENT, Role.ADMINISTRATOR})
"""Staff who register enterprises, record visits and move problems."""

ENTERPRISE_READ_ALL_ROLES = ACCOUNT_MANAGER_ROLES | {Role.DISPATCHER, Role.PLANNER}
"""Staff who read every enterprise's records (planners look at demand, dispatchers at leaks)."""

METRICS_ROLES = frozenset({Role.ADMINISTRATOR, Role.DISPATCHER, Role.SERVICE_AGENT})
"""Staff who read the service metrics."""


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enterprise:
    """An enterprise customer account (非居民用户) with its meters.

    ``meter_sensor_ids`` are flow sensors [m³/s] in the telemetry store;
    ``justified_night_flow_m3s`` is the night use the enterprise explains (a night shift,
    a cooling loop) [m³/s]; ``employees`` and ``output_per_day`` (in ``output_unit``) let
    consumption be compared per unit with peers of the same ``industry``.
    """

    id: int
    account_id: str
    name: str
    park_id: str | None
    industry: str
    manager_id: int | None
    customer_user_id: int | None
    tariff_name: str | None
    meter_sensor_ids: tuple[str, ...]
    justified_night_flow_m3s: float
    employees: int | None
    output_per_day: float | None
    output_unit: str
    created_at: datetime


@dataclass(frozen=True)
class Visit:
    """One visit of the account manager: date (local), topics, notes."""

    id: int
    enterprise_id: int
    manager_id: int
    visited_on: date
    topics: tuple[str, ...]
    notes: str
    created_at: datetime


@dataclass(frozen=True)
class Problem:
    """A problem the enterprise raised, tracked to closure."""

    id: int
    enterprise_id: int
    visit_id: int | None
    raised_by_id: int
    title: str
    description: str
    state: ProblemState
    reason: str
    satisfaction: int | None
    raised_at: datetime
    updated_at: datetime
    rectified_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ServiceRates:
    """Rectification and satisfaction over a set of problems.

    Rates are None when nothing was raised (or rated): 0 % would claim a failure.
    """

    problems_raised: int
    problems_rectified: int
    problems_rated: int
    problems_satisfied: int

    @property
    def rectification_rate(self) -> float | None:
        """Problems rectified / problems raised [0-1]."""
        return None if not self.problems_raised else \
            self.problems_rectified / self.problems_raised

    @property
    def satisfaction_rate(self) -> float | None:
        """Problems rated satisfied / problems rated [0-1]."""
        return None if not self.problems_rated else \
            self.problems_satisfied / self.problems_rated


def service_rates(problems: Iterable[Problem]) -> ServiceRates:
    """Count raised, rectified, rated and satisfied problems."""
    items = list(problems)
    rated = [p.satisfaction for p in items if p.satisfaction is not None]
    return ServiceRates(
        problems_raised=len(items),
        problems_rectified=sum(p.state in RECTIFIED_STATES for p in items),
        problems_rated=len(rated),
        problems_satisfied=sum(s >= SATISFIED_SCORE for s in rated),
    )


def can_read(user: User, enterprise: Enterprise) -> bool:
    """Whether ``user`` may read ``enterprise``'s records (its own customer, or staff)."""
    if not user.active:
        return False
    if user.role in ENTERPRISE_READ_ALL_ROLES:
        return True
    return user.role == Role.ENTERPRISE_CUSTOMER and enterprise.customer_user_id == user.id
