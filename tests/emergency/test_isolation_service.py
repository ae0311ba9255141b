"""The isolation use cases on the small network (no database: drafts are not audited here;
the API tests cover the audit log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from isolation_world import CRITICAL, CUSTOMERS, LAYER, write_world

from waterops.emergency.isolation import Isolator
from waterops.errors import PermissionDeniedError, ScenarioError
from waterops.io.inp import read_inp
from waterops.model.accounts import Role, User
from waterops.model.notices import NoticeKind
from waterops.service.isolation import IsolationService

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


def user(role: Role) -> User:
    return User(1, f"u-{role.value}", role, "someone", None, True, NOW)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> IsolationService:
    inp, _ = write_world(tmp_path_factory.mktemp("isolation-service"))
    iso = Isolator(read_inp(inp), LAYER, CUSTOMERS, CRITICAL)
    return IsolationService(iso, inp, clock=lambda: NOW)


def test_roles(service: IsolationService) -> None:
    for role in (Role.HOUSEHOLD_CUSTOMER, Role.SERVICE_AGENT, Role.FIELD_CREW):
        with pytest.raises(PermissionDeniedError, match="isolation:plan"):
            service.plan(user(role), pipe_id="P3")
        with pytest.raises(PermissionDeniedError):
            service.close_links(user(role), ["P3"])
    for role in (Role.DISPATCHER, Role.PLANNER, Role.ADMINISTRATOR):
        assert service.plan(user(role), pipe_id="P3").plan.unintended_nodes == ("J3", "J4",
                                                                                  "J5")


def test_close_links_and_bad_requests(service: IsolationService) -> None:
    report = service.close_links(user(Role.DISPATCHER), ["P4", "P4"])
    assert report.closed_links == ("P4",) and report.cut_off_nodes == ("J4", "J5")
    assert report.customers == ("E1",) and [u.id for u in report.critical_users] == ["HOS-1"]
    assert report.demand_cut_off_m3s == pytest.approx(0.007)
    assert report.effect.unsupplied_m3s == pytest.approx(0.007, rel=1e-3)
    with pytest.raises(ScenarioError, match="either a pipe"):
        service.plan(user(Role.DISPATCHER), pipe_id="P3", node_id="J2")
    with pytest.raises(ScenarioError, match="at most 500"):
        service.close_links(user(Role.DISPATCHER), [f"P{i}" for i in range(501)])


def test_notice_drafts(service: IsolationService) -> None:
    draft = service.notice_draft(user(Role.DISPATCHER), pipe_id="P3")
    assert draft.problems == () and draft.request.kind is NoticeKind.UNPLANNED
    assert draft.request.nodes == ("J2", "J3", "J4", "J5") and draft.customers == 3
    assert draft.request.starts_at == NOW
    assert draft.request.ends_at - NOW == timedelta(hours=8)
    assert "burst on pipe P3" in draft.body_en and "P3" in draft.body_zh
    planned = service.notice_draft(user(Role.PLANNER), pipe_id="P3", kind=NoticeKind.PLANNED)
    # 24 h ahead, on the hour
    assert planned.problems == ()
    assert planned.request.starts_at == datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    long = service.notice_draft(user(Role.PLANNER), pipe_id="P3", kind=NoticeKind.PLANNED,
                                starts_at=NOW + timedelta(hours=30),
                                ends_at=NOW + timedelta(hours=50))
    assert "48 h" in long.problems[0]  # a 20 h stop needs 48 h notice
    nothing = service.notice_draft(user(Role.DISPATCHER), pipe_id="P2")
    assert "no node loses water" in nothing.problems[0]


def test_plan_map_without_a_crs(service: IsolationService) -> None:
    geo = service.plan_map(user(Role.DISPATCHER), pipe_id="P3", failed_valves=["V3"])
    assert geo["coordinate_system"]["source_crs"] is None
    props = {f["id"]: f["properties"]["role"] for f in geo["features"]}
    assert props["valve/V3"] == "failed"
    assert {k for k, r in props.items() if r == "close"} == {"valve/V2", "valve/V4",
                                                            "valve/V6"}
    assert props["node/J2"] == props["node/J3"] == "segment"
    assert props["node/J4"] == props["link/P5"] == "unintended"
    assert props["critical/HOS-1"] == "critical_user"
    v4 = next(f for f in geo["features"] if f["id"] == "valve/V4")
    # V4 sits on P4 (J3 at x=300 to J4 at x=400) next to J4: drawn 15 % of the way to J3
    assert v4["geometry"]["coordinates"] == pytest.approx([385.0, 0.0])


def test_plan_needs_a_target(tmp_path: Path) -> None:
    inp, _ = write_world(tmp_path)
    service = IsolationService(Isolator(read_inp(inp), LAYER), inp)
    with pytest.raises(ScenarioError, match="either a pipe"):
        service.notice_draft(user(Role.DISPATCHER))
