"""Typed errors of waterops.

Errors are raised where the fault is seen and carry what a person needs to fix it
(file, line, element, reason). The edges (CLI, HTTP) turn them into one clear line or a
problem-details body; nothing inside prints.
"""

from __future__ import annotations

from pathlib import Path


class WaterOpsError(Exception):
    """Base class of every error waterops raises on purpose."""


class NetworkFileError(WaterOpsError):
    """A network file (EPANET .inp, GeoJSON …) cannot be read or is not valid.

    Parameters
    ----------
    path : file concerned (or ``None`` for text without a file)
    line : 1-based line number where the fault is, or ``None`` when it concerns the whole file
    reason : what is wrong, in words a modeller understands
    """

    def __init__(self, path: str | Path | None, line: int | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = reason
        where = self.path or "<text>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {reason}")


class NetworkModelError(WaterOpsError):
    """A network model is inconsistent (unknown element, invalid value) outside any file."""


class EngineError(WaterOpsError):
    """The simulation engine reported an error.

    Parameters
    ----------
    code : the engine's error code (EPANET toolkit codes, e.g. 110 "cannot solve network")
    reason : the engine's message, made readable
    path : the network file concerned, if any
    """

    def __init__(self, code: int | None, reason: str, path: str | Path | None = None) -> None:
        self.code = code
        self.reason = reason
        self.path = None if path is None else str(path)
        prefix = f"{self.path}: " if self.path else ""
        code_txt = f"EPANET error {code}: " if code is not None else ""
        super().__init__(f"{prefix}{code_txt}{reason}")


class SimulationError(EngineError):
    """A simulation started but could not be completed (e.g. the system cannot be solved)."""


class ScenarioError(WaterOpsError):
    """A scenario names an unknown element or asks for an impossible change."""


class UnitError(WaterOpsError):
    """An unknown unit, or a unit that does not fit the quantity."""


class TelemetryError(WaterOpsError):
    """Base class of telemetry errors."""


class PayloadError(TelemetryError):
    """A telemetry payload (MQTT message, HTTP batch, CSV row) is malformed.

    Parameters
    ----------
    source : where it came from (topic, file:line, request)
    reason : what is wrong with it
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class StoreError(WaterOpsError):
    """The database cannot be reached, migrated or written."""


class ConfigError(WaterOpsError):
    """A setting (environment variable, option) has an invalid value."""


class UnknownSensorError(StoreError):
    """Readings name a sensor the store does not know; nothing of the batch is stored.

    Parameters
    ----------
    sensor_id : the unknown sensor id (the first one seen)
    count : how many distinct unknown sensor ids the batch held
    """

    def __init__(self, sensor_id: str, count: int = 1) -> None:
        self.sensor_id = sensor_id
        self.count = count
        more = f" (and {count - 1} more unknown)" if count > 1 else ""
        super().__init__(f"unknown sensor {sensor_id!r}{more}; register it first")


class UnknownElementError(ScenarioError, KeyError):
    """An element id (node or link) that the network does not have.

    Parameters
    ----------
    kind : ``"node"`` or ``"link"``
    element_id : the id asked for
    where : the network file or model concerned, if known
    """

    def __init__(self, kind: str, element_id: str, where: str | Path | None = None) -> None:
        self.kind = kind
        self.element_id = element_id
        self.where = None if where is None else str(where)
        place = f" in {self.where}" if self.where else ""
        self.message = f"unknown {kind} {element_id!r}{place}"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class CoordinateSystemError(WaterOpsError):
    """A coordinate reference system (e.g. ``"EPSG:4547"``) is unknown or cannot be used."""


class IncidentError(ScenarioError):
    """An incident cannot be injected: unknown type, wrong element for its type, bad size."""


class QualityDataError(WaterOpsError):
    """Water-quality data (a station's time series, labels, flags) cannot be used.

    Parameters
    ----------
    source : the file or table concerned
    reason : what is wrong, naming the column or row
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class AlarmError(WaterOpsError):
    """An alarm or incident cannot be found or changed (unknown id, unknown cause code)."""


class AlarmTransitionError(AlarmError):
    """An operator or the system asked an alarm for a change its state does not allow.

    Parameters
    ----------
    alarm_id : the alarm concerned
    state : its state now
    action : the action refused (``acknowledge``, ``resolve`` …)
    allowed : the actions its state allows
    """

    def __init__(self, alarm_id: int, state: str, action: str, allowed: tuple[str, ...]) -> None:
        self.alarm_id = alarm_id
        self.state = state
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "nothing (it is closed for good)"
        super().__init__(f"alarm {alarm_id} is {state}: cannot {action} it; it allows {can}")


class LiveSystemError(WaterOpsError):
    """What a request needs is not running in this process (no twin, no simulator, no network
    configured): e.g. ``waterops serve`` without the demo's simulator."""


class AccountError(WaterOpsError):
    """An account cannot be created or changed (name taken, unknown role, weak password)."""


class AuthenticationError(AccountError):
    """Who is asking is not known: wrong name or password, unknown or expired token."""


class LoginThrottledError(AuthenticationError):
    """Too many failed logins for an account or a client address: wait before trying again.

    Parameters
    ----------
    key : what is throttled (``account:NAME`` or ``address:IP``)
    retry_after_s : how long to wait before the next attempt is heard [s]
    """

    def __init__(self, key: str, retry_after_s: float) -> None:
        self.key = key
        self.retry_after_s = retry_after_s
        super().__init__(
            f"too many failed logins for {key}; try again in {retry_after_s:.0f} s"
        )


class PermissionDeniedError(AccountError):
    """The user is known but their role does not allow the action on this record.

    Parameters
    ----------
    username : who asked
    action : what was refused (a permission, e.g. ``connections:advance``)
    resource : the record concerned, if any (``connection application 12``)
    """

    def __init__(self, username: str, action: str, resource: str | None = None) -> None:
        self.username = username
        self.action = action
        self.resource = resource
        on = f" on {resource}" if resource else ""
        super().__init__(f"user {username!r} may not {action}{on}")


class RecordNotFoundError(WaterOpsError):
    """A record (user, connection application, document …) that does not exist, or that the
    asking user may not know of (a customer asking for another customer's record).

    Parameters
    ----------
    kind : the kind of record (``connection application``)
    record_id : the id asked for
    """

    def __init__(self, kind: str, record_id: object) -> None:
        self.kind = kind
        self.record_id = record_id
        super().__init__(f"no {kind} {record_id!r}")


class ConnectionApplicationError(WaterOpsError):
    """A connection application (用水报装) is invalid: wrong template, missing document …"""


class ConnectionTransitionError(ConnectionApplicationError):
    """A connection application was asked for a change its stage does not allow.

    Parameters
    ----------
    application_id : the application concerned (``None`` before it is stored)
    state : its state now
    action : the action refused (``accept``, ``turn_water_on`` …)
    allowed : the actions its state allows
    """

    def __init__(
        self, application_id: int | None, state: str, action: str, allowed: tuple[str, ...]
    ) -> None:
        self.application_id = application_id
        self.state = state
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "nothing (it is closed for good)"
        which = f"connection application {application_id}" if application_id else "application"
        super().__init__(f"{which} is {state}: cannot {action} it; it allows {can}")


class DocumentRejectedError(WaterOpsError):
    """An uploaded document is refused: too large, or its content is not an allowed type.

    Parameters
    ----------
    filename : the name the uploader gave
    reason : why it is refused
    too_large : whether the size limit was the reason (HTTP 413 rather than 415)
    """

    def __init__(self, filename: str, reason: str, *, too_large: bool = False) -> None:
        self.filename = filename
        self.reason = reason
        self.too_large = too_large
        super().__init__(f"document {filename!r} refused: {reason}")


class CalendarError(WaterOpsError):
    """A working-day calculation reaches a year the holiday calendar does not cover."""


class ComplaintError(WaterOpsError):
    """A complaint or repair request (投诉/报修) is invalid: unknown node or account, a survey
    before closing, a second survey …"""


class ComplaintTransitionError(ComplaintError):
    """A complaint was asked for a change its state does not allow.

    Parameters
    ----------
    complaint_id : the complaint concerned (``None`` before it is stored)
    state : its state now
    action : the action refused (``close``, ``log_callback`` …)
    allowed : the actions its state allows
    """

    def __init__(self, complaint_id: int | None, state: str, action: str,
                 allowed: tuple[str, ...]) -> None:
        self.complaint_id = complaint_id
        self.state = state
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "nothing"
        which = f"complaint {complaint_id}" if complaint_id else "complaint"
        super().__init__(f"{which} is {state}: cannot {action} it; it allows {can}")


class NoticeRuleError(WaterOpsError):
    """An outage notice breaks a rule (lead time, times out of order, no nodes …).

    Parameters
    ----------
    rule : the rule broken, with its source (``planned stop: notice >= 24 h ahead (…)``)
    detail : what in the notice breaks it
    """

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"notice refused by rule '{rule}': {detail}")


class NotificationError(WaterOpsError):
    """A message could not be delivered by a channel (SMTP server or SMS gateway refused or
    unreachable); the outbox keeps it for a retry.

    Parameters
    ----------
    channel : ``email``, ``sms`` or ``log``
    address : where it was going
    reason : what went wrong
    """

    def __init__(self, channel: str, address: str, reason: str) -> None:
        self.channel = channel
        self.address = address
        self.reason = reason
        super().__init__(f"{channel} to {address!r} not delivered: {reason}")


class TariffError(WaterOpsError):
    """A tariff book or a bill request is wrong (unknown tariff, tiers out of order, a
    negative volume …), naming the file and the tariff, tier or line."""


class EnterpriseError(WaterOpsError):
    """An enterprise account, visit or problem is invalid (unknown meter, bad score …)."""


class ProblemTransitionError(EnterpriseError):
    """An enterprise problem was asked for a change its state does not allow.

    Parameters
    ----------
    problem_id : the problem concerned
    state : its state now
    action : the action refused
    allowed : the actions its state allows
    """

    def __init__(self, problem_id: int | None, state: str, action: str,
                 allowed: tuple[str, ...]) -> None:
        self.problem_id = problem_id
        self.state = state
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "nothing"
        super().__init__(f"enterprise problem {problem_id} is {state}: cannot {action} it; "
                         f"it allows {can}")


class AlarmConflictError(StoreError):
    """Another process wrote the same alarm at the same moment (its unique key); retry."""


class BalanceInputError(WaterOpsError):
    """Water-balance or plant-history input (CSV/TOML table, request) cannot be used.

    Parameters
    ----------
    source : the file, row or request concerned (``balance.csv:4``)
    reason : what is wrong, naming the column or value
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class RegisterError(WaterOpsError):
    """A pipe register or break history (CSV file, table, request) cannot be used.

    Parameters
    ----------
    source : the file and line, table or request concerned (``pipes.csv:12``)
    reason : what is wrong, naming the column or value
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class RenewalPlanError(WaterOpsError):
    """A renewal plan cannot be made: invalid options, or constraints nothing can satisfy
    (a must-do list dearer than the budgets, a must-do pipe also on the must-not list)."""


class WorkOrderError(WaterOpsError):
    """A field work order (工单) is invalid: unknown crew, a material without a unit, a close
    without a cause …"""


class WorkOrderTransitionError(WorkOrderError):
    """A work order was asked for a change its state does not allow.

    Parameters
    ----------
    order_id : the work order concerned (``None`` before it is stored)
    state : its state now
    action : the action refused (``arrive``, ``close`` …)
    allowed : the actions its state allows
    """

    def __init__(self, order_id: int | None, state: str, action: str,
                 allowed: tuple[str, ...]) -> None:
        self.order_id = order_id
        self.state = state
        self.action = action
        self.allowed = allowed
        can = ", ".join(allowed) if allowed else "nothing (it is closed for good)"
        which = f"work order {order_id}" if order_id else "work order"
        super().__init__(f"{which} is {state}: cannot {action} it; it allows {can}")


class TrunkMainError(WaterOpsError):
    """The trunk main's record cannot be used or changed (a failure in the future, unknown
    main, meters missing from the layout …)."""
