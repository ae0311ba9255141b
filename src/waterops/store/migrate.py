"""Run the store's Alembic migrations programmatically (no ``alembic.ini`` needed).

The migration scripts ship inside the package (``waterops/store/migrations``). PostgreSQL
schemas: Alembic's version table lives in the same schema as the tables, so each schema
(e.g. each test) has its own migration history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from waterops.errors import StoreError
from waterops.store.engine import WRITE_OPTION

SCRIPT_LOCATION = "waterops.store:migrations"


def _config(connection: sa.Connection | None = None, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def head_revision() -> str:
    """The newest revision the installed waterops knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError("no store migrations found in the installed package")
    return head


def current_revision(engine: sa.Engine, schema: str | None = None) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
        return context.get_current_revision()


def upgrade(engine: sa.Engine, schema: str | None = None, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: head), in one transaction.

    Raises
    ------
    StoreError
        if the database cannot be reached or a migration fails (nothing is half-applied:
        both SQLite and PostgreSQL run the DDL inside the transaction).
    """
    try:
        # Several processes may open a fresh database at once (ingest, CLI, web): the
        # migration takes the write lock first, so the others wait and then find it done.
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                    {"name": f"waterops-migrate:{schema or ''}"},
                )
            command.upgrade(_config(conn, schema), revision)
    except sa.exc.SQLAlchemyError as exc:
        where = engine.url.render_as_string()
        raise StoreError(f"cannot migrate the database {where} to {revision}: {exc}") from exc
