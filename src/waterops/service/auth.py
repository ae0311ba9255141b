"""Authentication: argon2 password hashes, expiring bearer tokens, login throttling, role checks.

Tokens are 256-bit random strings handed to the client once; the store keeps only their
SHA-256, so a copy of the database lets nobody log in. A token expires after
:attr:`AuthService.token_lifetime_s` and is revoked by logout.

Failed logins are slowed, per account and per client address, by exponential back-off: after
:attr:`ThrottlePolicy.free_failures` failures, the next attempt is refused (HTTP 429) until
``base_delay_s × 2^(failures − free_failures)`` has passed, at most ``max_delay_s``. Counting
per address too stops one client from guessing many accounts; counting per account stops many
clients from guessing one. Time comes from an injected clock so tests need not sleep.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from waterops.errors import AccountError, AuthenticationError, LoginThrottledError
from waterops.model.accounts import (
    CUSTOMER_ROLES,
    STAFF_ROLES,
    Permission,
    Role,
    User,
    check_password,
    check_username,
    require_permission,
)
from waterops.store.accounts_store import AccountsStore

Clock = Callable[[], datetime]
"""A function returning the current time (aware, UTC)."""


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed logins are slowed.

    Attributes
    ----------
    free_failures : failures allowed before any wait
    base_delay_s : wait after the first failure beyond the free ones [s]
    max_delay_s : longest wait [s]
    forget_after_s : failures older than this no longer count [s]
    """

    free_failures: int = 3
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0
    forget_after_s: float = 3600.0

    def delay_s(self, failures: int) -> float:
        """The wait imposed after ``failures`` consecutive failures [s]."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** (failures - self.free_failures))


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token as handed to the client (the only time the plain token exists)."""

    token: str
    user: User
    expires_at: datetime


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthService:
    """Accounts, logins and tokens.

    Parameters
    ----------
    accounts : the account repository
    clock : the current time (injected in tests)
    token_lifetime_s : how long a token is valid [s]
    throttle : the failed-login policy
    hasher : argon2 parameters (the library's defaults: RFC 9106 low-memory profile)
    """

    def __init__(
        self,
        accounts: AccountsStore,
        *,
        clock: Clock = utc_now,
        token_lifetime_s: float = 12 * 3600.0,
        throttle: ThrottlePolicy | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        self.token_lifetime_s = token_lifetime_s
        self.throttle = throttle or ThrottlePolicy()
        self.hasher = hasher or PasswordHasher()
        # verified against when the user name is unknown, so both cases take as long
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # -- accounts ------------------------------------------------------------------------------

    def register_customer(
        self,
        username: str,
        password: str,
        role: Role,
        *,
        display_name: str = "",
        email: str | None = None,
    ) -> User:
        """A customer (household or enterprise) opens an account."""
        if role not in CUSTOMER_ROLES:
            raise AccountError(
                f"role {role.value!r} is not a customer role; staff are created by an administrator"
            )
        return self._create(username, password, role, display_name, email, None)

    def create_staff(
        self,
        admin: User,
        username: str,
        password: str,
        role: Role,
        *,
        display_name: str = "",
        email: str | None = None,
    ) -> User:
        """An administrator creates a staff account (written to the audit trail)."""
        require_permission(admin, Permission.USERS_MANAGE, "user accounts")
        if role not in STAFF_ROLES:
            raise AccountError(f"role {role.value!r} is not a staff role")
        return self._create(username, password, role, display_name, email, admin)

    def update_user(
        self,
        admin: User,
        user_id: int,
        *,
        active: bool | None = None,
        role: Role | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> User:
        """An administrator changes an account (audited). A role stays in its family
        (customer or staff); an administrator cannot lock themself out."""
        require_permission(admin, Permission.USERS_MANAGE, f"user {user_id}")
        current = self.accounts.user(user_id)
        if role is not None and (role in CUSTOMER_ROLES) != (current.role in CUSTOMER_ROLES):
            raise AccountError(
                f"user {current.username!r} is a {current.role.value}: the role "
                f"{role.value!r} belongs to the other family (customer or staff)"
            )
        if user_id == admin.id and (active is False or role not in (None, Role.ADMINISTRATOR)):
            raise AccountError("an administrator cannot deactivate or demote their own account")
        changes: dict[str, object] = {}
        if active is not None:
            changes["active"] = active
        if role is not None:
            changes["role"] = role.value
        if display_name is not None:
            changes["display_name"] = display_name
        if email is not None:
            changes["email"] = email
        if not changes:
            return current
        return self.accounts.update_user(user_id, changes, at=self.clock(), by=admin)

    def create_administrator(self, username: str, password: str) -> User:
        """An administrator created from the server's command line (no actor to check)."""
        return self._create(username, password, Role.ADMINISTRATOR, "", None, None)

    def _create(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str,
        email: str | None,
        created_by: User | None,
    ) -> User:
        check_username(username)
        check_password(password)
        return self.accounts.create_user(
            username,
            self.hasher.hash(password),
            role,
            display_name=display_name,
            email=email,
            at=self.clock(),
            created_by=created_by,
        )

    # -- login ---------------------------------------------------------------------------------

    def _keys(self, username: str, client_address: str) -> tuple[str, str]:
        # keys are bounded in length whatever the client sends
        return (f"account:{username.lower()[:100]}", f"address:{client_address[:100]}")

    def _check_not_blocked(self, keys: tuple[str, ...], now: datetime) -> None:
        for key in keys:
            failed = self.accounts.failed_logins(key)
            if failed is not None and failed.blocked_until > now:
                raise LoginThrottledError(key, (failed.blocked_until - now).total_seconds())

    def _count_failure(self, keys: tuple[str, ...], now: datetime) -> None:
        forget = timedelta(seconds=self.throttle.forget_after_s)
        for key in keys:
            failed = self.accounts.failed_logins(key)
            before = 0 if failed is None or now - failed.last_failure > forget else failed.failures
            failures = before + 1
            blocked = now + timedelta(seconds=self.throttle.delay_s(failures))
            self.accounts.record_failed_login(key, failures, now, blocked)

    def login(self, username: str, password: str, client_address: str) -> IssuedToken:
        """Check a user name and password; a new bearer token, or an error.

        Raises
        ------
        LoginThrottledError
            while the account or the address must wait after repeated failures
        AuthenticationError
            for a wrong user name or password (which of the two is not told)
        """
        now = self.clock()
        keys = self._keys(username, client_address)
        self._check_not_blocked(keys, now)
        found = self.accounts.credentials(username)
        stored_hash = found[1] if found is not None else self._dummy_hash
        try:
            self.hasher.verify(stored_hash, password)
            verified = found is not None and found[0].active
        except (VerificationError, InvalidHashError):
            verified = False
        if not verified or found is None:
            self._count_failure(keys, now)
            raise AuthenticationError("wrong user name or password")
        user = found[0]
        self.accounts.clear_failed_logins(keys[0])
        if self.hasher.check_needs_rehash(stored_hash):
            self.accounts.set_password_hash(user.id, self.hasher.hash(password))
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.token_lifetime_s)
        self.accounts.add_token(token_digest(token), user.id, now, expires)
        if user.is_staff:
            self.accounts.audit(now, user, "login", "user", user.id)
        return IssuedToken(token, user, expires)

    def authenticate(self, token: str) -> User:
        """The user holding ``token``, or :class:`AuthenticationError`."""
        user = self.accounts.user_for_token(token_digest(token), self.clock())
        if user is None:
            raise AuthenticationError("the token is unknown, expired or revoked; log in again")
        return user

    def logout(self, token: str) -> None:
        """Revoke ``token``."""
        self.accounts.revoke_token(token_digest(token), self.clock())


def require(user: User, permission: Permission, resource: str | None = None) -> None:
    """The role check every action runs (raises :class:`PermissionDeniedError`)."""
    require_permission(user, permission, resource)
