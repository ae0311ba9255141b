"""Field work orders (工单/派单): states, who may do what, and the SLA clock (pure: no I/O).

A work order is the job a field crew does about a fault: it is created by the dispatch centre
from an incident, an alarm or a complaint (or by hand), assigned to a crew, and moved by the
crew from the field::

    created ──assign──> assigned ──depart──> en_route ──arrive──> on_site ──repair──> repaired
       │                  │  ^                 │                    │                  │
       │                  │  └────assign───────┘                    └──close──┐        │
       └──cancel──────────┴──cancel────────────┘                              v        v
                                                                            closed <─close

``assign`` again re-assigns (another crew) before the crew is on site; ``arrive`` straight
from ``assigned`` is allowed (a crew already nearby). ``repair`` records the cause and the
materials used; ``close`` confirms the job (dispatcher), with the cause if the crew gave none.
``closed`` and ``cancelled`` are final. Any other (state, action) pair is refused with
:class:`~waterops.errors.WorkOrderTransitionError`.

SLA clock
---------
Field SLAs run on wall-clock hours (a burst at 02:00 on a Sunday is due on site by 03:30, not
on Monday), counted from the time the fault was *reported* (the alarm or complaint), not from
the time somebody typed the order. Two targets per order: **on site** (the crew arrives) and
**fixed** (repaired). Targets are a policy (:class:`SlaPolicy`), data a utility sets; the
defaults are the *common figures* quoted by Chinese utilities in their service pledges
(服务承诺), which the issue lists and which are not law nor a national standard:

- crew on site within 45-90 min of a report: 45 min for an emergency (a burst), 90 min for
  other faults;
- mains under DN100 repaired within 24 h;
- secondary-supply (pump-room, 二次供水) faults: on site within 2 h, fixed within 4 h.

Where no common figure exists (a main of DN100 or more, a meter, a valve) the default has no
"fixed" target (``None``): the utility sets one if it promises one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from waterops.errors import WorkOrderError, WorkOrderTransitionError
from waterops.model.accounts import Role


class WorkOrderState(enum.StrEnum):
    """Where a work order stands."""

    CREATED = "created"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    REPAIRED = "repaired"
    CLOSED = "closed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({WorkOrderState.CLOSED, WorkOrderState.CANCELLED})
"""States nothing leaves."""
OPEN_STATES = frozenset(set(WorkOrderState) - FINAL_STATES)
"""States of orders still being worked."""


class WorkOrderAction(enum.StrEnum):
    """What can be done to a work order."""

    ASSIGN = "assign"
    DEPART = "depart"
    ARRIVE = "arrive"
    REPAIR = "repair"
    CLOSE = "close"
    CANCEL = "cancel"


_S, _A = WorkOrderState, WorkOrderAction
TRANSITIONS: Mapping[WorkOrderState, Mapping[WorkOrderAction, WorkOrderState]] = {
    _S.CREATED: {_A.ASSIGN: _S.ASSIGNED, _A.CANCEL: _S.CANCELLED},
    _S.ASSIGNED: {_A.ASSIGN: _S.ASSIGNED, _A.DEPART: _S.EN_ROUTE, _A.ARRIVE: _S.ON_SITE,
                  _A.CANCEL: _S.CANCELLED},
    _S.EN_ROUTE: {_A.ASSIGN: _S.ASSIGNED, _A.ARRIVE: _S.ON_SITE, _A.CANCEL: _S.CANCELLED},
    _S.ON_SITE: {_A.REPAIR: _S.REPAIRED, _A.CLOSE: _S.CLOSED},
    _S.REPAIRED: {_A.CLOSE: _S.CLOSED},
    _S.CLOSED: {},
    _S.CANCELLED: {},
}
"""The state machine: (state, action) -> next state; anything else is refused."""

FIELD_ACTIONS = frozenset({_A.DEPART, _A.ARRIVE, _A.REPAIR})
"""Status updates from the field: the assigned crew (or a dispatcher on its behalf)."""
DISPATCH_ACTIONS = frozenset({_A.ASSIGN, _A.CLOSE, _A.CANCEL})
"""Actions of the dispatch centre."""


def allowed_actions(state: WorkOrderState) -> tuple[WorkOrderAction, ...]:
    """Actions the state allows, in declaration order."""
    return tuple(a for a in WorkOrderAction if a in TRANSITIONS[state])


def next_state(order_id: int | None, state: WorkOrderState,
               action: WorkOrderAction) -> WorkOrderState:
    """The state after ``action``; :class:`WorkOrderTransitionError` if ``state`` refuses it."""
    after = TRANSITIONS[state].get(action)
    if after is None:
        raise WorkOrderTransitionError(order_id, state.value, action.value,
                                       tuple(a.value for a in allowed_actions(state)))
    return after


class WorkOrderKind(enum.StrEnum):
    """What the job is about (it chooses the SLA targets)."""

    PIPE_BURST = "pipe_burst"  # 爆管: a main or service pipe broken
    LEAK = "leak"  # a leak found or suspected
    PUMP_ROOM = "pump_room"  # secondary supply: booster, building tank (二次供水)
    TRUNK_MAIN = "trunk_main"  # the raw-water trunk main (输水主干线)
    VALVE = "valve"
    METER = "meter"
    WATER_QUALITY = "water_quality"  # flushing, sampling after a quality alarm
    LOW_PRESSURE = "low_pressure"
    OTHER = "other"


class Priority(enum.StrEnum):
    """How urgent: an emergency has the shortest on-site target."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


class Ability(enum.StrEnum):
    """Actions on work orders and the trunk main's record (customers have none)."""

    READ_ALL = "work_orders:read_all"
    CREATE = "work_orders:create"
    DISPATCH = "work_orders:dispatch"  # assign, close, cancel, link
    FIELD = "work_orders:field"  # depart, arrive, repair (own orders for a crew)
    TRUNK_MAIN_READ = "trunk_main:read"
    TRUNK_MAIN_RECORD = "trunk_main:record_failure"


_READERS = frozenset({Ability.READ_ALL, Ability.TRUNK_MAIN_READ})
STAFF_ABILITIES: dict[Role, frozenset[Ability]] = {
    Role.DISPATCHER: frozenset(Ability),
    Role.ADMINISTRATOR: frozenset(Ability),
    # the service agent opens orders from complaints and follows them for the caller
    Role.SERVICE_AGENT: _READERS | {Ability.CREATE},
    # a crew sees and moves only the orders assigned to it (checked on the record)
    Role.FIELD_CREW: frozenset({Ability.FIELD, Ability.TRUNK_MAIN_READ}),
    Role.WATER_QUALITY_ENGINEER: _READERS | {Ability.CREATE},
    Role.PLANNER: _READERS,
}
"""What each staff role may do (data, like :data:`waterops.model.accounts.ROLE_PERMISSIONS`)."""


def can(role: Role, ability: Ability) -> bool:
    """Whether ``role`` has ``ability``."""
    return ability in STAFF_ABILITIES.get(role, frozenset())


# -- SLA ------------------------------------------------------------------------------------------

COMMON_FIGURES = "common figures of Chinese utilities' service pledges (configurable, not law)"
"""Source of the default SLA targets (see the module docstring)."""
SMALL_MAIN_DN_MM = 100
"""Mains under this nominal diameter [mm] have the 24 h repair target (DN100)."""


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """The promise for one kind of job: on site and fixed within [s] of the report.

    ``fixed_s`` is ``None`` when nothing is promised; ``basis`` says where the figures come from.
    """

    on_site_s: float
    fixed_s: float | None
    basis: str

    def __post_init__(self) -> None:
        if not self.on_site_s > 0 or (self.fixed_s is not None and
                                      not self.fixed_s >= self.on_site_s):
            raise WorkOrderError(f"SLA target: on site {self.on_site_s} s must be > 0 and "
                                 f"fixed {self.fixed_s} s not earlier than on site")


def _default_targets() -> dict[WorkOrderKind, SlaTarget]:
    other = SlaTarget(90 * 60, None, f"crew on site within 90 min: {COMMON_FIGURES}")
    return {
        WorkOrderKind.PUMP_ROOM: SlaTarget(
            2 * 3600, 4 * 3600,
            f"secondary-supply fault on site within 2 h, fixed within 4 h: {COMMON_FIGURES}"),
        **{k: other for k in WorkOrderKind if k is not WorkOrderKind.PUMP_ROOM},
    }


@dataclass(frozen=True)
class SlaPolicy:
    """The utility's SLA targets.

    Attributes
    ----------
    targets : per kind of job, the on-site and fixed targets
    emergency_on_site_s : on-site target of an emergency (a burst) [s], if shorter than its
        kind's; default 45 min (the strict end of the common 45-90 min)
    small_main_repair_s : repair target of a burst or leak on a main under
        :data:`SMALL_MAIN_DN_MM` [s] (24 h, common figure)
    """

    targets: Mapping[WorkOrderKind, SlaTarget] = field(default_factory=_default_targets)
    emergency_on_site_s: float = 45 * 60
    small_main_repair_s: float = 24 * 3600

    def target(self, kind: WorkOrderKind, priority: Priority,
               diameter_mm: float | None = None) -> SlaTarget:
        """The SLA of a job of ``kind`` and ``priority`` on a pipe of ``diameter_mm`` (if any)."""
        base = self.targets.get(kind)
        if base is None:
            raise WorkOrderError(f"the SLA policy has no target for work orders of kind "
                                 f"{kind.value!r}")
        on_site, fixed, basis = base.on_site_s, base.fixed_s, base.basis
        if priority is Priority.EMERGENCY and self.emergency_on_site_s < on_site:
            on_site = self.emergency_on_site_s
            basis = f"emergency on site within {on_site / 60:g} min: {COMMON_FIGURES}"
        small_main = (kind in (WorkOrderKind.PIPE_BURST, WorkOrderKind.LEAK)
                      and diameter_mm is not None and diameter_mm < SMALL_MAIN_DN_MM)
        if small_main and (fixed is None or self.small_main_repair_s < fixed):
            fixed = self.small_main_repair_s
            basis += (f"; main under DN{SMALL_MAIN_DN_MM} repaired within "
                      f"{self.small_main_repair_s / 3600:g} h: {COMMON_FIGURES}")
        return SlaTarget(on_site, max(fixed, on_site) if fixed is not None else None, basis)


@dataclass(frozen=True, slots=True)
class SlaClock:
    """Where a work order stands against its SLA at ``now``.

    ``*_remaining_s`` is the time left to the due time [s] (negative: overdue), ``None`` once
    the target is met or missed for good (the step happened) or when there is no target.
    A target is *breached* when its step happened after the due time, or has not happened
    and ``now`` is past the due time.
    """

    reported_at: datetime
    on_site_due: datetime
    fixed_due: datetime | None
    on_site_breached: bool
    fixed_breached: bool
    on_site_remaining_s: float | None
    fixed_remaining_s: float | None

    @property
    def breached(self) -> bool:
        """Whether any target is breached."""
        return self.on_site_breached or self.fixed_breached


def due_times(reported_at: datetime, target: SlaTarget) -> tuple[datetime, datetime | None]:
    """(on site due, fixed due) of a job reported at ``reported_at`` (wall-clock hours)."""
    fixed = None if target.fixed_s is None else reported_at + timedelta(seconds=target.fixed_s)
    return reported_at + timedelta(seconds=target.on_site_s), fixed


def sla_clock(reported_at: datetime, on_site_due: datetime, fixed_due: datetime | None,
              now: datetime, *, on_site_at: datetime | None = None,
              fixed_at: datetime | None = None, cancelled: bool = False) -> SlaClock:
    """The SLA clock of an order due at the given times, seen at ``now``.

    ``on_site_at``/``fixed_at`` are when the crew arrived and repaired (``None``: not yet).
    A cancelled order's clock stops: nothing is breached that was not already.
    """
    def one(due: datetime | None, done: datetime | None) -> tuple[bool, float | None]:
        if due is None:
            return False, None
        if done is not None:
            return done > due, None
        if cancelled:
            return False, None
        left = (due - now).total_seconds()
        return left < 0, left

    on_breach, on_left = one(on_site_due, on_site_at)
    fix_breach, fix_left = one(fixed_due, fixed_at)
    return SlaClock(reported_at, on_site_due, fixed_due, on_breach, fix_breach, on_left,
                    fix_left)


@dataclass(frozen=True, slots=True)
class Material:
    """A material used on a job (``quantity`` in ``unit``: ``m`` of pipe, ``pcs`` of clamps)."""

    name: str
    quantity: float
    unit: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise WorkOrderError("a material needs a name")
        if not self.quantity > 0 or self.quantity != self.quantity:
            raise WorkOrderError(f"material {self.name!r}: quantity {self.quantity} must be > 0")
        if not self.unit.strip():
            raise WorkOrderError(f"material {self.name!r}: give its unit (m, pcs, kg …)")


class LinkKind(enum.StrEnum):
    """Records a work order can be linked to."""

    ALARM = "alarm"
    INCIDENT = "incident"  # an alarm incident (several alarms, one cause)
    COMPLAINT = "complaint"
    NOTICE = "notice"  # the outage notice of the repair
    TRUNK_MAIN_FAILURE = "trunk_main_failure"


ALARM_KIND_TO_ORDER: dict[str, tuple[WorkOrderKind, Priority]] = {
    "burst": (WorkOrderKind.PIPE_BURST, Priority.EMERGENCY),
    "trunk_main_burst": (WorkOrderKind.TRUNK_MAIN, Priority.EMERGENCY),
    "leak": (WorkOrderKind.LEAK, Priority.URGENT),
    "pump_room_low_pressure": (WorkOrderKind.PUMP_ROOM, Priority.URGENT),
    "water_quality_limit": (WorkOrderKind.WATER_QUALITY, Priority.URGENT),
    "low_pressure": (WorkOrderKind.LOW_PRESSURE, Priority.URGENT),
}
"""The job an alarm of each kind calls for (other kinds: ``other``, urgent)."""
