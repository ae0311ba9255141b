"""Revision 0006 (enterprises): one head, a round trip down and up on SQLite and PostgreSQL,
and the account checks of a new enterprise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from waterops.errors import EnterpriseError
from waterops.model.accounts import Role
from waterops.service.enterprise_service import EnterpriseDraft, EnterpriseService
from waterops.store import TelemetryStore, migrate
from waterops.store.accounts_store import AccountsStore
from waterops.store.enterprises_store import EnterprisesStore

T0 = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)
TABLES = {"enterprises", "enterprise_meters", "enterprise_visits", "enterprise_problems",
          "enterprise_problem_events"}


def test_the_migrations_have_one_head_reached_through_0006() -> None:
    script = ScriptDirectory.from_config(migrate._config())
    assert len(script.get_heads()) == 1
    chain = [r.revision for r in script.walk_revisions()]
    assert "0006" in chain and script.get_revision("0006").down_revision == "0005"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0006_down_and_up_again(backend: str, request: pytest.FixtureRequest,
                                tmp_path: Path) -> None:
    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'm.db'}", None
    else:
        url, schema = request.getfixturevalue("postgres_schema")
    store = TelemetryStore.open(url, schema=schema)
    try:
        names = set(sa.inspect(store.engine).get_table_names())
        assert names >= TABLES
        with store.engine.begin() as conn:
            command.downgrade(migrate._config(conn, schema), "0005")
        assert not set(sa.inspect(store.engine).get_table_names()) & TABLES
        migrate.upgrade(store.engine, schema)
        assert set(sa.inspect(store.engine).get_table_names()) >= TABLES
        assert migrate.current_revision(store.engine, schema) == migrate.head_revision()
    finally:
        store.close()


def test_manager_and_customer_accounts_must_fit_their_role(tmp_path: Path) -> None:
    store = TelemetryStore.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        accounts = AccountsStore(store.engine)
        agent = accounts.create_user("agent1", "x", Role.SERVICE_AGENT, at=T0)
        house = accounts.create_user("house1", "x", Role.HOUSEHOLD_CUSTOMER, at=T0)
        service = EnterpriseService(EnterprisesStore(store.engine), store)
        with pytest.raises(EnterpriseError, match="not a service agent"):
            service.register(agent, EnterpriseDraft("E1", "P", "food", manager_id=house.id))
        with pytest.raises(EnterpriseError, match="not an enterprise customer"):
            service.register(agent, EnterpriseDraft("E1", "P", "food", customer_user_id=agent.id))
        with pytest.raises(EnterpriseError, match="not a service agent"):
            service.register(agent, EnterpriseDraft("E1", "P", "food", manager_id=999))
        assert EnterprisesStore(store.engine).enterprises() == ([], 0)
    finally:
        store.close()
