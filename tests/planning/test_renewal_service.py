"""The renewal service: criticality raises a pipe's consequence, roles are checked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from waterops.errors import PermissionDeniedError, RecordNotFoundError
from waterops.model.accounts import Role, User
from waterops.planning.synthetic_register import synthetic_pipes
from waterops.service.renewal import PlanRequest, RenewalService
from waterops.store.accounts_store import AccountsStore
from waterops.store.pipe_register_store import PipeRegisterStore

AT = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.fixture()
def service(tmp_path: Path) -> RenewalService:
    accounts = AccountsStore.open(f"sqlite:///{tmp_path / 'r.db'}")
    svc = RenewalService(PipeRegisterStore(accounts.engine), clock=lambda: AT)
    svc.import_register(None, "town", synthetic_pipes(300, seed=5))
    return svc


def _user(role: Role) -> User:
    return User(1, "someone", role, "", None, True, AT)


def test_criticality_puts_a_critical_pipe_into_the_plan(service: RenewalService) -> None:
    request = PlanRequest("p", (200_000.0,), 2027)
    base = service.make_plan(None, "town", request)
    chosen = set(base.pipes["pipe_id"])
    register = service.register(None, "town")
    # the newest PE pipe, least likely to fail, is never worth renewing on its own ...
    pe = register.pipes[register.pipes["material"] == "PE"]
    quiet = str(pe.sort_values("install_year").index[-1])
    assert quiet not in chosen
    # ... unless closing it leaves 5,000 m³ a day undelivered and 40 junctions dry
    criticality = pd.DataFrame({"link": [quiet], "unsupplied_m3": [5e6],
                                "nodes_below_threshold": [40]})
    with_hydraulics = service.make_plan(None, "town", request, criticality)
    assert quiet in set(with_hydraulics.pipes["pipe_id"])
    assert with_hydraulics.options["pipes_without_criticality"] == 299
    assert base.options["pipes_without_criticality"] == 300
    assert with_hydraulics.years[0]["failures_avoided"] > 0
    assert with_hydraulics.years[0]["leakage_avoided_m3"] > 0


def test_roles_of_the_service(service: RenewalService) -> None:
    request = PlanRequest("p", (1e5,), 2027)
    for role in (Role.DISPATCHER, Role.HOUSEHOLD_CUSTOMER, Role.FIELD_CREW):
        with pytest.raises(PermissionDeniedError):
            service.make_plan(_user(role), "town", request)
        with pytest.raises(PermissionDeniedError):
            service.register(_user(role), "town")
    planner = AccountsStore(service.store.engine).create_user(
        "planner1", "not-a-real-hash", Role.PLANNER, at=AT)
    plan = service.make_plan(planner, "town", request)
    assert plan.created_by == planner.id
    assert service.plan(_user(Role.ADMINISTRATOR), plan.id).id == plan.id
    with pytest.raises(RecordNotFoundError):
        service.register(planner, "nowhere")
