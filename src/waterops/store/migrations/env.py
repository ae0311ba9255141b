"""Alembic environment: runs on the connection :mod:`waterops.store.migrate` hands over.

No ``alembic.ini`` is read and no URL is looked up here; the caller passes an open connection
(``config.attributes["connection"]``) and, for PostgreSQL, the schema that holds the tables and
Alembic's version table (``config.attributes["schema"]``).
"""

from __future__ import annotations

from alembic import context

from waterops.errors import StoreError


def run_migrations_online() -> None:
    """Run the migrations in one transaction on the caller's connection."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise StoreError("migrations are run through waterops.store.migrate, not the alembic CLI")
    schema = context.config.attributes.get("schema")
    context.configure(
        connection=connection,
        version_table_schema=schema,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise StoreError(
        "offline (SQL script) migrations are not supported; run `waterops telemetry migrate`"
    )
run_migrations_online()
