"""Accounts and roles of the customer service (pure: no I/O).

Two families of accounts use waterops: *customers* (a household, an enterprise) who see only
their own records, and *staff* of the utility, whose role says what they may do. What each
role may do is data (:data:`ROLE_PERMISSIONS`), read by one check
(:func:`has_permission`) that the service layer runs before every action; a colleague adding
complaints or enterprise service adds permissions here and grants them in the table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from waterops.errors import AccountError, PermissionDeniedError


class Role(enum.StrEnum):
    """Who an account belongs to."""

    HOUSEHOLD_CUSTOMER = "household_customer"
    ENTERPRISE_CUSTOMER = "enterprise_customer"
    DISPATCHER = "dispatcher"
    WATER_QUALITY_ENGINEER = "water_quality_engineer"
    SERVICE_AGENT = "service_agent"
    FIELD_CREW = "field_crew"
    PLANNER = "planner"
    ADMINISTRATOR = "administrator"


CUSTOMER_ROLES = frozenset({Role.HOUSEHOLD_CUSTOMER, Role.ENTERPRISE_CUSTOMER})
"""Roles of customers: they act on their own records only."""

STAFF_ROLES = frozenset(set(Role) - CUSTOMER_ROLES)
"""Roles of the utility's staff: every action they take is written to the audit log."""


class Permission(enum.StrEnum):
    """One kind of action; records of customers are further limited to their owner."""

    CONNECTIONS_APPLY = "connections:apply"
    CONNECTIONS_READ_OWN = "connections:read_own"
    CONNECTIONS_READ_ALL = "connections:read_all"
    CONNECTIONS_ACT_AS_APPLICANT = "connections:act_as_applicant"
    CONNECTIONS_ADVANCE = "connections:advance"
    CONNECTIONS_SLA_REPORT = "connections:sla_report"
    DOCUMENTS_UPLOAD = "documents:upload"
    DOCUMENTS_READ_ALL = "documents:read_all"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    ISOLATION_PLAN = "isolation:plan"  # valve isolation plans, close-a-link scenarios
    WATER_BALANCE_READ = "water_balance:read"  # water balance, leakage indices, report
    TREATMENT_READ = "treatment:read"  # coagulant/ozone dose advice, outlet drift flags
    EMERGENCY_ANALYSE = "emergency:analyse"  # contamination spread/tracing, source switch
    RENEWAL_PLAN = "renewal:plan"  # pipe register, break-rate models, renewal plans
    OPERATIONS_READ = "operations:read"  # network, telemetry, twin, alarms, KPIs, live stream
    ALARMS_ACT = "alarms:act"  # acknowledge, assign, resolve
    INCIDENTS_INJECT = "incidents:inject"  # the demo simulator: start an incident
    TELEMETRY_INGEST = "telemetry:ingest"  # POST readings (gateways, SCADA exports)


_CUSTOMER = frozenset(
    {
        Permission.CONNECTIONS_APPLY,
        Permission.CONNECTIONS_READ_OWN,
        Permission.CONNECTIONS_ACT_AS_APPLICANT,
        Permission.DOCUMENTS_UPLOAD,
    }
)
_STAFF_READ = frozenset(
    {
        Permission.CONNECTIONS_READ_ALL,
        Permission.CONNECTIONS_SLA_REPORT,
        Permission.DOCUMENTS_READ_ALL,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.HOUSEHOLD_CUSTOMER: _CUSTOMER,
    Role.ENTERPRISE_CUSTOMER: _CUSTOMER,
    # the dispatcher and the quality engineer look at applications (a new connection
    # changes demand) but do not move them
    Role.DISPATCHER: _STAFF_READ
    | {Permission.OPERATIONS_READ, Permission.ALARMS_ACT, Permission.INCIDENTS_INJECT,
       Permission.ISOLATION_PLAN, Permission.WATER_BALANCE_READ, Permission.TREATMENT_READ,
       Permission.EMERGENCY_ANALYSE},
    Role.WATER_QUALITY_ENGINEER: _STAFF_READ
    | {Permission.OPERATIONS_READ, Permission.ALARMS_ACT, Permission.TREATMENT_READ,
       Permission.EMERGENCY_ANALYSE},
    # the service agent runs the counter: accepts, quotes, pauses, may upload for a customer
    Role.SERVICE_AGENT: _STAFF_READ
    | {
        Permission.CONNECTIONS_ADVANCE,
        Permission.DOCUMENTS_UPLOAD,
        Permission.USERS_READ,
        Permission.OPERATIONS_READ,
    },
    # the field crew surveys, builds and installs meters; acts on the alarms it is sent to
    Role.FIELD_CREW: _STAFF_READ
    | {Permission.CONNECTIONS_ADVANCE, Permission.OPERATIONS_READ, Permission.ALARMS_ACT},
    # the planner designs and quotes
    Role.PLANNER: _STAFF_READ | {Permission.CONNECTIONS_ADVANCE, Permission.OPERATIONS_READ,
                                 Permission.ISOLATION_PLAN, Permission.WATER_BALANCE_READ,
                                 Permission.RENEWAL_PLAN},
    Role.ADMINISTRATOR: frozenset(set(Permission) - _CUSTOMER) | {Permission.DOCUMENTS_UPLOAD},
}
"""What each role may do (data: change a grant here, not in code)."""


@dataclass(frozen=True)
class User:
    """An account as the rest of waterops sees it (never with its password hash)."""

    id: int
    username: str
    role: Role
    display_name: str
    email: str | None
    active: bool
    created_at: datetime

    @property
    def is_staff(self) -> bool:
        """Whether the account is one of the utility's staff."""
        return self.role in STAFF_ROLES


USERNAME_MIN, USERNAME_MAX = 3, 64
PASSWORD_MIN, PASSWORD_MAX = 10, 256
"""Lengths of user names and passwords [characters]."""


def check_username(username: str) -> str:
    """``username`` if it is 3–64 letters, digits, ``.``, ``_``, ``-`` or ``@``."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX or not set(username) <= allowed:
        raise AccountError(
            f"user name {username!r} must be {USERNAME_MIN}-{USERNAME_MAX} letters, digits "
            "or . _ - @"
        )
    return username


def check_password(password: str) -> str:
    """``password`` if it is long enough to be worth hashing (10–256 characters)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(
            f"a password must have {PASSWORD_MIN}-{PASSWORD_MAX} characters, "
            f"this one has {len(password)}"
        )
    return password


def has_permission(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def require_permission(user: User, permission: Permission, resource: str | None = None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user`` is active and may ``permission``."""
    if not user.active or not has_permission(user.role, permission):
        raise PermissionDeniedError(user.username, permission.value, resource)
