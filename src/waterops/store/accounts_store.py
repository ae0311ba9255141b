"""Repository of accounts, bearer tokens, failed-login counters and the staff audit trail.

Passwords arrive here already hashed (argon2, by :mod:`waterops.service.auth`) and tokens as
their SHA-256: the database never holds a secret that would let its reader log in. Staff
actions go to the ``audit_log`` table of revision 0003 (shared with the alarm service), one
line per action with the record's before/after as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import sqlalchemy as sa

from waterops.errors import AccountError, RecordNotFoundError, StoreError
from waterops.model.accounts import Role, User
from waterops.store import migrate
from waterops.store.alarm_tables import audit_log
from waterops.store.engine import WRITE_OPTION, create_store_engine, resolve_url
from waterops.store.faults import DATABASE_FAULTS, database_faults, reason_of
from waterops.store.tables import metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("expires_at_us", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_us", sa.BigInteger, nullable=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_us", sa.BigInteger, nullable=False),
    sa.Column("blocked_until_us", sa.BigInteger, nullable=False),
)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(when: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware ``when``."""
    delta = when - EPOCH
    return delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds


def from_us(time_us: int) -> datetime:
    """The aware UTC instant of ``time_us``."""
    return EPOCH + timedelta(microseconds=time_us)


def _user(row: sa.RowMapping) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        display_name=row["display_name"],
        email=row["email"],
        active=bool(row["active"]),
        created_at=from_us(row["created_at_us"]),
    )


def insert_audit(
    conn: sa.Connection,
    at: datetime,
    actor: User,
    action: str,
    target_kind: str,
    target_id: int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """One line of the audit trail, in the caller's transaction."""
    conn.execute(
        sa.insert(audit_log).values(
            at_us=to_us(at),
            actor=actor.username,
            action=action[:32],
            target_kind=target_kind[:16],
            target_id=target_id,
            before=json.dumps(dict(before or {}), sort_keys=True, default=str),
            after=json.dumps(dict(after or {}), sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True)
class FailedLogins:
    """Failed logins counted for one key (an account or a client address)."""

    failures: int
    last_failure: datetime
    blocked_until: datetime


class AccountsStore:
    """Accounts, tokens, failed logins and the audit trail, on SQLite or PostgreSQL.

    Parameters
    ----------
    engine : engine of the store, migrated to head
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    def open(cls, url: str | None = None, *, schema: str | None = None) -> Self:
        """Open (and migrate to head) the database at ``url`` (default: WATEROPS_DATABASE_URL)."""
        engine = create_store_engine(resolve_url(url), schema=schema)
        try:
            migrate.upgrade(engine, schema)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @contextmanager
    def writing(self, action: str) -> Iterator[sa.Connection]:
        """One write transaction; database faults become a ``StoreError`` naming ``action``."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except sa.exc.IntegrityError as exc:
            raise AccountError(f"cannot {action}: {reason_of(exc)}") from exc
        except DATABASE_FAULTS as exc:
            where = self.engine.url.render_as_string()
            raise StoreError(f"{where}: cannot {action}: {reason_of(exc)}") from exc

    # -- accounts ------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password_hash: str,
        role: Role,
        *,
        display_name: str = "",
        email: str | None = None,
        at: datetime,
        created_by: User | None = None,
    ) -> User:
        """Store a new account; ``created_by`` (staff) is written to the audit trail."""
        with self.writing(f"create user {username!r}") as conn:
            taken = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
            if taken is not None:
                raise AccountError(f"user name {username!r} is taken")
            user_id = conn.execute(
                sa.insert(users)
                .values(
                    username=username,
                    password_hash=password_hash,
                    role=role.value,
                    display_name=display_name,
                    email=email,
                    active=True,
                    created_at_us=to_us(at),
                )
                .returning(users.c.id)
            ).scalar_one()
            if created_by is not None:
                insert_audit(
                    conn,
                    at,
                    created_by,
                    "create_user",
                    "user",
                    user_id,
                    after={"username": username, "role": role.value},
                )
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().one()
        return _user(row)

    @database_faults("read a user")
    def user(self, user_id: int) -> User:
        """The account ``user_id`` or a :class:`RecordNotFoundError`."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise RecordNotFoundError("user", user_id)
        return _user(row)

    @database_faults("read a user")
    def credentials(self, username: str) -> tuple[User, str] | None:
        """(account, password hash) of ``username``, or None."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(users).where(users.c.username == username))
                .mappings()
                .first()
            )
        return None if row is None else (_user(row), row["password_hash"])

    @database_faults("count administrators")
    def count_role(self, role: Role) -> int:
        """How many accounts have ``role``."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(users).where(users.c.role == role.value)
                ).scalar_one()
            )

    @database_faults("list users")
    def users(self, *, limit: int, offset: int) -> tuple[list[User], int]:
        """A page of accounts by id, and the total count."""
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
            rows = (
                conn.execute(sa.select(users).order_by(users.c.id).limit(limit).offset(offset))
                .mappings()
                .all()
            )
        return [_user(r) for r in rows], int(total)

    def update_user(
        self, user_id: int, changes: Mapping[str, Any], *, at: datetime, by: User
    ) -> User:
        """Change an account's ``active``, ``role``, ``display_name`` or ``email`` (audited)."""
        allowed = {"active", "role", "display_name", "email"}
        unknown = set(changes) - allowed
        if unknown:
            raise AccountError(f"cannot change {', '.join(sorted(unknown))} of an account")
        with self.writing(f"change user {user_id}") as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
            if row is None:
                raise RecordNotFoundError("user", user_id)
            before = {k: row[k] for k in changes}
            conn.execute(sa.update(users).where(users.c.id == user_id).values(**changes))
            insert_audit(conn, at, by, "update_user", "user", user_id, before, dict(changes))
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().one()
        return _user(row)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace the stored hash (argon2 parameters raised, or a new password)."""
        with self.writing("store a password hash") as conn:
            conn.execute(
                sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    # -- tokens --------------------------------------------------------------------------------

    def add_token(
        self, token_hash: str, user_id: int, created: datetime, expires: datetime
    ) -> None:
        """Store a bearer token by its hash."""
        with self.writing("store a token") as conn:
            conn.execute(
                sa.insert(auth_tokens).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created_at_us=to_us(created),
                    expires_at_us=to_us(expires),
                )
            )

    @database_faults("check a token")
    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The active account holding an unexpired, unrevoked token, or None."""
        query = (
            sa.select(users)
            .join(auth_tokens, auth_tokens.c.user_id == users.c.id)
            .where(
                auth_tokens.c.token_hash == token_hash,
                auth_tokens.c.expires_at_us > to_us(now),
                auth_tokens.c.revoked_at_us.is_(None),
                users.c.active.is_(True),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _user(row)

    def revoke_token(self, token_hash: str, now: datetime) -> None:
        """Revoke a token (logout)."""
        with self.writing("revoke a token") as conn:
            conn.execute(
                sa.update(auth_tokens)
                .where(auth_tokens.c.token_hash == token_hash)
                .values(revoked_at_us=to_us(now))
            )

    # -- failed logins -------------------------------------------------------------------------

    @database_faults("read failed logins")
    def failed_logins(self, key: str) -> FailedLogins | None:
        """The failed-login count of ``key``, or None when it has none."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(login_failures).where(login_failures.c.key == key))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return FailedLogins(
            row["failures"], from_us(row["last_failure_us"]), from_us(row["blocked_until_us"])
        )

    def record_failed_login(
        self, key: str, failures: int, at: datetime, blocked_until: datetime
    ) -> None:
        """Set the failed-login count of ``key``."""
        with self.writing("count a failed login") as conn:
            values = {
                "failures": failures,
                "last_failure_us": to_us(at),
                "blocked_until_us": to_us(blocked_until),
            }
            done = conn.execute(
                sa.update(login_failures).where(login_failures.c.key == key).values(**values)
            )
            if done.rowcount == 0:
                conn.execute(sa.insert(login_failures).values(key=key, **values))

    def clear_failed_logins(self, key: str) -> None:
        """Forget the failed logins of ``key`` (after a successful login)."""
        with self.writing("clear failed logins") as conn:
            conn.execute(sa.delete(login_failures).where(login_failures.c.key == key))

    # -- audit trail ---------------------------------------------------------------------------

    def audit(
        self,
        at: datetime,
        actor: User,
        action: str,
        target_kind: str,
        target_id: int,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one audit line in its own transaction."""
        with self.writing("write the audit trail") as conn:
            insert_audit(conn, at, actor, action, target_kind, target_id, before, after)

    def audit_lines(
        self,
        *,
        actor: str | None = None,
        target_kind: str | None = None,
        target_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Audit lines, oldest first, filtered by actor and target if given."""
        return self.audit_page(actor=actor, target_kind=target_kind, target_id=target_id)[0]

    @database_faults("read the audit trail")
    def audit_page(
        self,
        *,
        actor: str | None = None,
        target_kind: str | None = None,
        target_id: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of audit lines, oldest first, filtered if asked, and the total count."""
        where = []
        if actor is not None:
            where.append(audit_log.c.actor == actor)
        if target_kind is not None:
            where.append(audit_log.c.target_kind == target_kind)
        if target_id is not None:
            where.append(audit_log.c.target_id == target_id)
        query = sa.select(audit_log).where(*where).order_by(audit_log.c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        count = sa.select(sa.func.count()).select_from(audit_log).where(*where)
        with self.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = conn.execute(query).mappings().all()
        return [
            {
                **dict(r),
                "at": from_us(r["at_us"]),
                "before": json.loads(r["before"]),
                "after": json.loads(r["after"]),
            }
            for r in rows
        ], total
