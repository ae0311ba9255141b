"""Alarms and incidents of the operations centre: states, severities, causes (pure, no I/O).

An :class:`Alarm` is one condition on one source (a sensor, a pump room, a DMA) that a
detector says is wrong: "free chlorine below 0.05 mg/L at CL-JUNCTION-12", "pump room PR03
high-zone pressure below 0.14 MPa". Its life is a declared state machine
(:data:`TRANSITIONS`)::

    raised ──acknowledge──> acknowledged ──assign──> assigned ──assign──> assigned (hand-over)
      │  └──────────────assign──────────────────────┘    │
      ├──clear (condition ended by itself)──> cleared ──close──> closed   (no operator needed)
      │                                         │  └──reopen (condition back)──> raised
      └──resolve (operator, with a cause)──> resolved      <──resolve──┘

``resolved`` and ``closed`` are final. Any other (state, action) pair is refused with
:class:`~waterops.errors.AlarmTransitionError`: an alarm cannot be acknowledged twice, a
closed alarm cannot be reassigned.

An :class:`Incident` groups the alarms that one cause produces (several pressure loggers of
a DMA seeing one burst, the pressure and the pump status of one pump room): the dispatcher
works the incident, the alarms are its evidence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from waterops.errors import AlarmError, AlarmTransitionError


class Severity(enum.StrEnum):
    """How urgent an alarm is for a dispatcher (see :data:`SEVERITY_MEANING`)."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        """0 for critical … 3 for warning (sort key: most urgent first)."""
        return _SEVERITY_ORDER.index(self)

    @property
    def meaning(self) -> str:
        """What this severity asks of the dispatcher."""
        return SEVERITY_MEANING[self]


_SEVERITY_ORDER = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR, Severity.WARNING)

SEVERITY_MEANING: dict[Severity, str] = {
    Severity.CRITICAL: (
        "Water safety or supply to many customers at stake (drinking-water limit breached at "
        "the plant outlet, trunk-main burst, source outage): act now, day or night, and call "
        "the duty manager."
    ),
    Severity.MAJOR: (
        "Supply or water quality degraded for a building or a district (pump-room low "
        "pressure, burst in a DMA, chlorine below the tap minimum): send a crew within the hour."
    ),
    Severity.MINOR: (
        "Something is wrong but customers do not feel it yet (suspected leak from night "
        "flow, a drifting sensor): plan the work in the next working hours."
    ),
    Severity.WARNING: (
        "An early sign to watch (a quality-event probability rising, pressure trending down): "
        "no dispatch; look again if it persists."
    ),
}


def most_severe(severities: list[Severity] | tuple[Severity, ...]) -> Severity:
    """The most urgent of ``severities`` (warning for an empty list)."""
    return min(severities, key=lambda s: s.rank, default=Severity.WARNING)


class AlarmState(enum.StrEnum):
    """Where an alarm is in its life (see the module docstring for the diagram)."""

    RAISED = "raised"  # seen by the detector, nobody has looked yet
    ACKNOWLEDGED = "acknowledged"  # an operator has seen it
    ASSIGNED = "assigned"  # a person or crew is on it
    CLEARED = "cleared"  # the condition ended by itself; waits for an operator or auto-close
    RESOLVED = "resolved"  # an operator closed it with a cause (final)
    CLOSED = "closed"  # closed without an operator: it cleared and its kind auto-closes (final)

    @property
    def is_open(self) -> bool:
        """The condition is (as far as we know) still there."""
        return self in OPEN_STATES

    @property
    def is_final(self) -> bool:
        """Nothing can happen to the alarm any more."""
        return self in FINAL_STATES


OPEN_STATES = frozenset({AlarmState.RAISED, AlarmState.ACKNOWLEDGED, AlarmState.ASSIGNED})
FINAL_STATES = frozenset({AlarmState.RESOLVED, AlarmState.CLOSED})
LIVE_STATES = frozenset(set(AlarmState) - FINAL_STATES)
"""States in which an alarm still counts for de-duplication (open or cleared, not final)."""


class AlarmAction(enum.StrEnum):
    """What can happen to an alarm: by an operator (acknowledge, assign, resolve) or by the
    system (raise, clear, reopen, close)."""

    RAISE = "raise"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    CLEAR = "clear"
    REOPEN = "reopen"
    RESOLVE = "resolve"
    CLOSE = "close"


OPERATOR_ACTIONS = frozenset({AlarmAction.ACKNOWLEDGE, AlarmAction.ASSIGN, AlarmAction.RESOLVE})

_S, _A = AlarmState, AlarmAction
TRANSITIONS: dict[tuple[AlarmState, AlarmAction], AlarmState] = {
    (_S.RAISED, _A.ACKNOWLEDGE): _S.ACKNOWLEDGED,
    (_S.RAISED, _A.ASSIGN): _S.ASSIGNED,  # assigning implies it was seen
    (_S.ACKNOWLEDGED, _A.ASSIGN): _S.ASSIGNED,
    (_S.ASSIGNED, _A.ASSIGN): _S.ASSIGNED,  # hand-over to another crew
    (_S.RAISED, _A.CLEAR): _S.CLEARED,
    (_S.ACKNOWLEDGED, _A.CLEAR): _S.CLEARED,
    (_S.ASSIGNED, _A.CLEAR): _S.CLEARED,
    (_S.CLEARED, _A.REOPEN): _S.RAISED,  # the condition came back before anyone closed it
    (_S.CLEARED, _A.CLOSE): _S.CLOSED,
    (_S.RAISED, _A.RESOLVE): _S.RESOLVED,
    (_S.ACKNOWLEDGED, _A.RESOLVE): _S.RESOLVED,
    (_S.ASSIGNED, _A.RESOLVE): _S.RESOLVED,
    (_S.CLEARED, _A.RESOLVE): _S.RESOLVED,
}
"""The declared state machine: (state, action) -> next state. Nothing else is allowed."""


def allowed_actions(state: AlarmState) -> tuple[AlarmAction, ...]:
    """The actions ``state`` allows, in declaration order."""
    return tuple(a for (s, a) in TRANSITIONS if s is state)


def next_state(alarm_id: int, state: AlarmState, action: AlarmAction) -> AlarmState:
    """The state after ``action``; raises :class:`AlarmTransitionError` if it is not allowed."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = tuple(a.value for a in allowed_actions(state))
        raise AlarmTransitionError(alarm_id, state.value, action.value, allowed) from None


class Cause(enum.StrEnum):
    """Cause codes an operator resolves an alarm or incident with (root causes, for reports)."""

    BOOSTER_FAULT = "booster_fault"  # secondary-supply booster stopped or failed
    BUILDING_TANK_EMPTY = "building_tank_empty"  # pump room's tank ran dry
    UPSTREAM_NETWORK_LOW = "upstream_network_low"  # city network pressure low at the feed
    LOCAL_FAULT = "local_fault"  # building pipes, valves, PRV: everything upstream normal
    PIPE_BURST = "pipe_burst"
    LEAK = "leak"
    PUMP_TRIP = "pump_trip"
    VALVE_FAULT = "valve_fault"
    POWER_FAILURE = "power_failure"
    SOURCE_OUTAGE = "source_outage"
    WATER_QUALITY = "water_quality"  # a real quality breach (dosing fault, contamination)
    SENSOR_FAULT = "sensor_fault"  # the instrument was wrong, the water was fine
    PLANNED_WORK = "planned_work"  # announced maintenance
    FALSE_ALARM = "false_alarm"  # detector wrong, nothing found
    OTHER = "other"


def parse_cause(code: str) -> Cause:
    """The :class:`Cause` named ``code`` (case-insensitive); :class:`AlarmError` otherwise."""
    try:
        return Cause(code.strip().lower())
    except ValueError:
        known = ", ".join(c.value for c in Cause)
        raise AlarmError(f"unknown cause code {code!r}; use one of: {known}") from None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reading that supports an alarm or a diagnosis.

    ``value`` is in ``unit`` (SI: m, m³/s, mg/L; ``"1"`` for a pump status).
    """

    sensor_id: str
    quantity: str
    value: float
    unit: str
    time: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class AlarmSignal:
    """What a detector says about one condition at one time: still wrong, or over.

    Attributes
    ----------
    kind : the detector's kind of alarm (``"low_pressure"``, ``"water_quality_limit"``,
        ``"pump_room_low_pressure"``, ``"burst"`` …)
    source : what it is about: a sensor id, a pump room id, a DMA id
    condition : which condition on the source (a limit name such as ``"free_chlorine>=0.05"``)
    active : True while the condition holds, False when it has ended
    time : when the detector saw it (timezone-aware UTC)
    severity : how urgent
    group_key : what ties alarms of one cause together (``"pump_room:PR03"``,
        ``"dma:DMA-04"``); alarms with the same key close in time form one incident
    value : the reading that triggered or updated it [unit]
    unit : unit of ``value``
    message, message_zh : one sentence a service agent can read to a customer
    diagnosis : the detector's explanation (e.g. ``"booster_fault"``), if it gives one
    evidence : readings supporting the diagnosis
    worse_when_lower : a lower value is further beyond the condition (low pressure, low
        chlorine); False for upper limits (turbidity)
    """

    kind: str
    source: str
    condition: str
    active: bool
    time: datetime
    severity: Severity = Severity.MAJOR
    group_key: str = ""
    value: float | None = None
    unit: str = ""
    message: str = ""
    message_zh: str = ""
    diagnosis: str | None = None
    evidence: tuple[Evidence, ...] = ()
    worse_when_lower: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, source, condition): alarms with one key are one alarm (de-duplication)."""
        return (self.kind, self.source, self.condition)


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm as the operations centre sees it (id given by the store).

    Times are timezone-aware UTC. ``count`` is how many detector signals it has absorbed
    (de-duplicated repeats); ``worst_value`` the value furthest beyond the condition seen.
    """

    id: int
    kind: str
    source: str
    condition: str
    severity: Severity
    state: AlarmState
    raised_at: datetime
    updated_at: datetime
    group_key: str = ""
    incident_id: int | None = None
    value: float | None = None
    worst_value: float | None = None
    unit: str = ""
    message: str = ""
    message_zh: str = ""
    diagnosis: str | None = None
    evidence: tuple[Evidence, ...] = ()
    cleared_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    assignee: str | None = None
    resolved_by: str | None = None
    cause: Cause | None = None
    note: str = ""
    count: int = 1

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, source, condition), the de-duplication key."""
        return (self.kind, self.source, self.condition)

    def apply(self, action: AlarmAction, at: datetime, **changes: object) -> Alarm:
        """The alarm after ``action`` at ``at`` (other fields from ``changes``).

        Raises
        ------
        AlarmTransitionError
            if the alarm's state does not allow ``action``.
        """
        state = next_state(self.id, self.state, action)
        return replace(self, state=state, updated_at=at, **changes)  # type: ignore[arg-type]


class IncidentState(enum.StrEnum):
    """An incident is open while any of its alarms is not final."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Incident:
    """Alarms with one cause, worked as one job (id given by the store).

    ``severity`` is that of its most severe alarm; ``cause`` is set when it is resolved.
    """

    id: int
    group_key: str
    title: str
    severity: Severity
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    cause: Cause | None = None
    alarm_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: who did what to which alarm or incident, and when.

    ``before`` and ``after`` hold the fields the action changed (text values).
    """

    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str  # "alarm" or "incident"
    target_id: int
    before: dict[str, str | None]
    after: dict[str, str | None]
