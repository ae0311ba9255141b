"""Revision 0004 (accounts, tokens, documents, connection applications): one head, and it
downgrades and upgrades again cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from waterops.store import migrate
from waterops.store.engine import create_store_engine

TABLES = {
    "users",
    "auth_tokens",
    "login_failures",
    "documents",
    "connection_applications",
    "connection_events",
}


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(migrate._config())
    assert len(script.get_heads()) == 1
    assert script.get_revision("0004").down_revision == "0003"


def test_0004_down_and_up_again(store_url: tuple[str, str | None]) -> None:
    url, schema = store_url
    engine = create_store_engine(url, schema=schema)
    try:
        migrate.upgrade(engine, schema, "0004")
        assert set(sa.inspect(engine).get_table_names(schema=schema)) >= TABLES
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn, schema), "0003")
        assert not TABLES & set(sa.inspect(engine).get_table_names(schema=schema))
        assert "audit_log" in sa.inspect(engine).get_table_names(schema=schema)
        migrate.upgrade(engine, schema, "0004")
        assert set(sa.inspect(engine).get_table_names(schema=schema)) >= TABLES
    finally:
        engine.dispose()
