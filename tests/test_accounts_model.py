"""Roles and permissions as data; user names and passwords checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waterops.errors import AccountError, PermissionDeniedError
from waterops.model.accounts import (
    CUSTOMER_ROLES,
    ROLE_PERMISSIONS,
    STAFF_ROLES,
    Permission,
    Role,
    User,
    check_password,
    check_username,
    has_permission,
    require_permission,
)


def test_every_role_has_a_grant_and_families_partition_the_roles() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(Role) == CUSTOMER_ROLES | STAFF_ROLES and not CUSTOMER_ROLES & STAFF_ROLES


@pytest.mark.parametrize("role", sorted(CUSTOMER_ROLES))
def test_customers_act_only_as_applicants(role: Role) -> None:
    assert has_permission(role, Permission.CONNECTIONS_APPLY)
    for staff_only in (
        Permission.CONNECTIONS_READ_ALL,
        Permission.CONNECTIONS_ADVANCE,
        Permission.USERS_MANAGE,
        Permission.AUDIT_READ,
        Permission.DOCUMENTS_READ_ALL,
        Permission.CONNECTIONS_SLA_REPORT,
    ):
        assert not has_permission(role, staff_only)


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_staff_read_but_never_apply(role: Role) -> None:
    assert has_permission(role, Permission.CONNECTIONS_READ_ALL)
    assert not has_permission(role, Permission.CONNECTIONS_APPLY)
    assert has_permission(role, Permission.USERS_MANAGE) == (role == Role.ADMINISTRATOR)


def test_require_permission_names_who_and_what() -> None:
    user = User(1, "disp", Role.DISPATCHER, "", None, True, datetime(2026, 1, 1, tzinfo=UTC))
    require_permission(user, Permission.CONNECTIONS_READ_ALL)
    with pytest.raises(PermissionDeniedError, match="'disp' may not connections:advance on app 3"):
        require_permission(user, Permission.CONNECTIONS_ADVANCE, "app 3")
    inactive = User(2, "old", Role.ADMINISTRATOR, "", None, False, user.created_at)
    with pytest.raises(PermissionDeniedError):
        require_permission(inactive, Permission.USERS_READ)


def test_names_and_passwords() -> None:
    assert check_username("li.wei@example") == "li.wei@example"
    for bad in ("ab", "x" * 65, "white space", "semi;colon", "名字名字"):
        with pytest.raises(AccountError):
            check_username(bad)
    with pytest.raises(AccountError, match="10-256 characters"):
        check_password("short")
    assert check_password("ten chars!") == "ten chars!"
