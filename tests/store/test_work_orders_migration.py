"""Revision 0007 (work orders, trunk-main failures): a database holding data at 0006 upgrades
without loss, and 0007 downgrades and upgrades again cleanly, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from waterops.store import migrate
from waterops.store.engine import create_store_engine

TABLES = {"work_orders", "work_order_events", "work_order_materials", "work_order_links",
          "trunk_main_failures"}
T0_US = 1_796_000_000_000_000


def test_0006_data_survive_and_0007_goes_down_and_up(store_url: tuple[str, str | None]) -> None:
    url, schema = store_url
    engine = create_store_engine(url, schema=schema)
    try:
        migrate.upgrade(engine, schema, "0006")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (username, password_hash, role, display_name, active, "
                f"created_at_us) VALUES ('crew-a', 'h', 'field_crew', 'Crew A', true, {T0_US})"))
            conn.execute(sa.text(
                "INSERT INTO audit_log (at_us, actor, action, target_kind, target_id, before, "
                f"after) VALUES ({T0_US}, 'admin', 'create_user', 'user', 1, '{{}}', '{{}}')"))
        migrate.upgrade(engine, schema)
        names = set(sa.inspect(engine).get_table_names(schema=schema))
        assert names >= TABLES
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT username, role FROM users")).all() == [
                ("crew-a", "field_crew")]
            assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 1
            # the new tables take rows that reference the old ones
            conn.execute(sa.text(
                "INSERT INTO work_orders (kind, priority, state, title, created_by, "
                "reported_at_us, created_at_us, updated_at_us, assignee_id, on_site_due_us) "
                f"VALUES ('pipe_burst', 'emergency', 'assigned', 'burst', 'disp', {T0_US}, "
                f"{T0_US}, {T0_US}, 1, {T0_US + 2_700_000_000})"))
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn, schema), "0006")
        names = set(sa.inspect(engine).get_table_names(schema=schema))
        assert not TABLES & names and {"users", "audit_log"} <= names
        migrate.upgrade(engine, schema)
        assert set(sa.inspect(engine).get_table_names(schema=schema)) >= TABLES
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        engine.dispose()
