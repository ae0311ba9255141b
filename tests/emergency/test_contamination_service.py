"""Contamination and source use cases: roles, the demo spread with its do-not-drink notice
(stored on SQLite and PostgreSQL), tracing from sensor readings with clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pytest

from complaints_world import T0, open_world
from waterops.data import demo_network_path
from waterops.emergency.contamination import Injection, simulate_spread
from waterops.emergency.sources import AlertLevel
from waterops.errors import (
    ConfigError,
    PermissionDeniedError,
    ScenarioError,
    UnknownElementError,
)
from waterops.hydraulics import EpanetEngine
from waterops.model.accounts import Role, User
from waterops.model.telemetry import Quantity, Reading
from waterops.service.contamination import ContaminationService, Detection, SpreadReport
from waterops.service.sources import SourceService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store.notices_store import Contact, NoticesStore

TRUTH = "JUNCTION-356"


def _user(role: Role, name: str = "u") -> User:
    return User(1, name, role, name, None, True, T0)


@lru_cache(maxsize=1)
def _spread() -> SpreadReport:
    service = ContaminationService(None, build_demo_utility())
    return service.spread(_user(Role.WATER_QUALITY_ENGINEER),
                          Injection(TRUTH, start_s=3600, concentration_mg_l=10.0),
                          horizon_s=6 * 3600)


@pytest.mark.parametrize("role", [Role.HOUSEHOLD_CUSTOMER, Role.SERVICE_AGENT, Role.PLANNER,
                                  Role.FIELD_CREW])
def test_only_quality_dispatch_and_admin_analyse(role: Role) -> None:
    layout = build_demo_utility()
    service = ContaminationService(None, layout)
    with pytest.raises(PermissionDeniedError):
        service.spread(_user(role), Injection(TRUTH, concentration_mg_l=1.0), horizon_s=3600)
    with pytest.raises(PermissionDeniedError):
        SourceService(None, layout).status(_user(role), {})


def test_spread_report_on_the_demo() -> None:
    report = _spread()
    one, six = report.exposure  # a 6 h horizon has the 1 h and 6 h windows
    assert (one.within_h, six.within_h) == (1.0, 6.0)
    assert 0 < one.nodes < six.nodes and one.households <= six.households
    assert report.nodes[0].node_id == TRUTH and report.nodes[0].first_arrival_s <= 600
    assert [n.first_arrival_s for n in report.nodes] == sorted(n.first_arrival_s
                                                               for n in report.nodes)
    assert len(report.area.nodes) == len(report.nodes)  # same threshold: same nodes
    assert report.flushing and report.flushing[0].order == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    w = open_world(request, str(tmp_path / "c.db"))
    yield w
    w.accounts.engine.dispose()


def test_do_not_drink_draft_is_audited_and_issued(world) -> None:  # type: ignore[no-untyped-def]
    report = _spread()
    service = ContaminationService(None, world.layout, notices=world.notices,
                                   audit_engine=world.accounts.engine, clock=world.clock)
    engineer = world.user("qe", Role.WATER_QUALITY_ENGINEER)
    dispatcher = world.user("disp", Role.DISPATCHER)
    first = next(c for c in world.layout.customers if c.node in report.area.nodes)
    NoticesStore(world.accounts.engine).upsert_contacts(
        [Contact(first.account_id, first.node, None, None, "13800000000")], at=T0,
        actor=dispatcher)
    draft = service.do_not_drink_draft(engineer, report, substance="a chemical tracer")
    assert "Do not drink" in draft.subject and "请勿饮用" in draft.body_zh
    lines = world.accounts.audit_lines(actor="qe")
    assert [line["action"] for line in lines] == ["draft_do_not_drink_notice"]
    with pytest.raises(PermissionDeniedError):
        service.issue_do_not_drink(engineer, draft)  # the engineer drafts, dispatch issues
    notice = service.issue_do_not_drink(dispatcher, draft)
    targets = {a for a, _ in world.notices_store.targets(notice.id)}
    assert targets == set(report.area.accounts) and notice.subject == draft.subject
    outbox = world.notices_store.messages(notice_id=notice.id)
    assert any(m.address == "13800000000" and "请勿饮用" in m.body for m in outbox)
    assert any(m.address == "public-posting" for m in outbox)  # accounts without a contact


def test_trace_from_sensor_readings_with_clock_times() -> None:
    layout = build_demo_utility()
    stations = [s for s in layout.sensors
                if s.quantity in (Quantity.CONDUCTIVITY, Quantity.CHLORINE)
                and s.element_kind == "node"]
    with EpanetEngine.open(demo_network_path()) as engine:
        spread = simulate_spread(engine, Injection(TRUTH, start_s=3600,
                                                   concentration_mg_l=10.0),
                                 horizon_s=6 * 3600, sample_step_s=3600)
    col = {n: i for i, n in enumerate(spread.node_ids)}
    midnight = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 00:00 in Beijing
    detections = [Detection(s.id, midnight + timedelta(seconds=int(t)),
                            float(spread.concentration_mg_l[r, col[str(s.element_id)]]))
                  for r, t in enumerate(spread.time_s) if t >= 3600 for s in stations]
    service = ContaminationService(None, layout)
    report = service.trace(_user(Role.DISPATCHER), detections, threshold_mg_l=0.05,
                           members=1)
    assert report.model_start == midnight
    names = [c.node_id for c in report.candidates]
    assert TRUTH in names[:20]
    mine = report.candidates[names.index(TRUTH)]
    assert abs(report.start_time(mine) - (midnight + timedelta(hours=1))) <= \
        timedelta(minutes=30)
    with pytest.raises(UnknownElementError):
        service.trace(_user(Role.DISPATCHER), [Detection("NOPE", midnight, 1.0)])
    with pytest.raises(ConfigError):
        service.trace(_user(Role.DISPATCHER), detections, members=0)


def test_source_status_of_every_source() -> None:
    service = SourceService(None, build_demo_utility())
    statuses = service.status(_user(Role.ADMINISTRATOR),
                              {"SRC-RIVER": {"ammonia_n": 1.2, "turbidity": 20.0}})
    by_id = {s.source_id: s for s in statuses}
    assert by_id["SRC-RIVER"].level is AlertLevel.ALARM
    assert by_id["SRC-SHUIKU"].level is AlertLevel.NORMAL and not by_id["SRC-SHUIKU"].findings
    with pytest.raises(ScenarioError, match="unknown source"):
        service.status(_user(Role.ADMINISTRATOR), {"SRC-LAKE": {"ph": 7.0}})
    with pytest.raises(ConfigError):
        service.switch_plan(_user(Role.ADMINISTRATOR), "SRC-SHUIKU", horizon_s=0)


def test_source_status_reads_the_intake_analysers(world) -> None:  # type: ignore[no-untyped-def]
    world.telemetry.write_readings([Reading("TU-RES-RIVER", T0, 80.0),
                                    Reading("TU-RES-SHUIKU", T0, 3.0)])
    service = SourceService(None, world.layout)
    engineer = world.user("qe", Role.WATER_QUALITY_ENGINEER)
    by_id = {s.source_id: s for s in service.status(engineer, {}, telemetry=world.telemetry)}
    assert by_id["SRC-RIVER"].level is AlertLevel.WARNING  # 80 NTU: past the 50 NTU warning
    assert [(f.parameter, f.value) for f in by_id["SRC-RIVER"].findings] == [("turbidity", 80.0)]
    assert by_id["SRC-SHUIKU"].level is AlertLevel.NORMAL
    # a laboratory value given with the request joins (and overrides) the analysers'
    lab = service.status(engineer, {"SRC-SHUIKU": {"ammonia_n": 1.3, "turbidity": 120.0}},
                         telemetry=world.telemetry)
    shuiku = next(s for s in lab if s.source_id == "SRC-SHUIKU")
    assert shuiku.level is AlertLevel.ALARM
    assert dict((f.parameter, f.value) for f in shuiku.findings) == {"ammonia_n": 1.3,
                                                                     "turbidity": 120.0}
