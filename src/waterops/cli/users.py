"""``waterops users``: accounts from the server's command line (the first administrator).

The password is read from ``$WATEROPS_ADMIN_PASSWORD`` if set, else from standard input (one
line; typed without echo on a terminal). There is no default password anywhere in waterops.
"""

from __future__ import annotations

import os
import sys

import typer

from waterops.errors import AccountError
from waterops.service.auth import AuthService
from waterops.store.accounts_store import AccountsStore

PASSWORD_ENV = "WATEROPS_ADMIN_PASSWORD"


def _read_password() -> str:
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        return password
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise AccountError(f"no password: give it on standard input or in ${PASSWORD_ENV}")
    return line


def register(app: typer.Typer) -> None:
    """Add the ``users`` command group to ``app``."""
    users = typer.Typer(
        help="User accounts of the API (customers register themselves).", no_args_is_help=True
    )

    @users.command("create-admin")
    def create_admin(
        name: str = typer.Argument(..., help="user name of the administrator"),
        database: str | None = typer.Option(
            None, "--database", help="database URL (default: WATEROPS_DATABASE_URL or the data dir)"
        ),
    ) -> None:
        """Create an administrator; the password comes from stdin or $WATEROPS_ADMIN_PASSWORD."""
        password = _read_password()
        store = AccountsStore.open(database)
        try:
            user = AuthService(store).create_administrator(name, password)
        finally:
            store.close()
        typer.echo(f"administrator {user.username!r} created (id {user.id})")

    app.add_typer(users, name="users")
